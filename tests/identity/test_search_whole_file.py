"""Matching a whole file in memory (the initial load): each line finds the earlier lines
bulk matching would find in the hub, a typo from either side, whatever the order."""

import pytest

from gru.identity.search.index import profile_of
from gru.identity.search import whole_file
from gru.identity.search.whole_file import Vocabulary, match_whole_file
from tests.factories.identity import PERSON

JEAN = {"family_name": "Martin", "given_names": "Jean", "birth_date": "1975-03-12", "sex": "M"}


def _pairs(records):
    """``{(later, earlier): decision}`` of the lines of ``records``."""
    results, _aliases, _tokens = match_whole_file("person", [profile_of("person", record) for record in records])
    return {(later, earlier): comparison.decision
            for later, found in enumerate(results) for earlier, comparison in found}


@pytest.mark.parametrize("typo_first", [True, False])
def test_a_typo_held_by_one_line_finds_the_common_spelling_before_or_after_it(typo_first):
    typo = {**JEAN, "given_names": "Jaen"}
    others = [dict(JEAN), dict(JEAN), {**JEAN, "family_name": "Dupont"}]
    records = [typo, *others] if typo_first else [*others, typo]
    pairs = _pairs(records)
    typo_at = 0 if typo_first else 3
    paired_with_typo = {earlier if later == typo_at else later for later, earlier in pairs
                        if typo_at in (later, earlier)}
    jeans = {1, 2} if typo_first else {0, 1}
    assert paired_with_typo == jeans  # both Jean Martin, not Jean Dupont
    assert all(earlier < later for later, earlier in pairs)  # told on the later line
    assert pairs[(max(jeans), min(jeans))] == "match"


def test_a_namesake_born_another_day_is_no_candidate_and_one_without_a_date_is():
    records = [dict(JEAN), {**JEAN, "birth_date": "1990-07-01"},
               {key: value for key, value in JEAN.items() if key != "birth_date"}]
    pairs = _pairs(records)
    assert (1, 0) not in pairs
    assert (2, 0) in pairs and (2, 1) in pairs  # compared: the date unknown on one side


def test_a_shared_home_or_number_brings_lines_with_no_name_in_common():
    married = {**PERSON, "family_name": "Kaouha", "social_security_number": "287039881800123"}
    maiden = {**PERSON, "social_security_number": "287039881800123"}
    assert (1, 0) in _pairs([maiden, married])


def test_the_vocabulary_expands_a_word_to_its_neighbours_one_edit_away():
    vocabulary = Vocabulary(["martin", "martine", "matrin", "marin", "morton", "jean"])
    assert set(vocabulary.expansion("martin")) == {"martin", "martine", "matrin", "marin"}
    assert vocabulary.expansion("jea") == ("jea",)  # too short to be fuzzy


def _file_of_persons():
    """Forty persons, each with a typo'd, a swapped and a namesake record."""
    records = []
    for number, (family, given) in enumerate(zip(
            ("Martin", "Wamytan", "Kaouha", "Dupont", "Tjibaou", "Gorodey", "Lefèvre", "Néaoutyine") * 5,
            ("Jean", "Élise", "Régis", "Marie", "Paul", "Déwé", "Sophie", "Hugo", "Léa", "Louis") * 4)):
        person = {"family_name": family, "given_names": given, "sex": "M",
                  "birth_date": f"19{50 + number}-0{1 + number % 9}-1{number % 10}"}
        records += [person, {**person, "family_name": family[:2] + family[3] + family[2] + family[4:]},
                    {**person, "family_name": given, "given_names": family},
                    {**person, "birth_date": f"20{number % 20:02}-05-05"}]
    return [profile_of("person", record) for record in records]


in_forks = whole_file._in_forks


def test_the_matching_shared_among_forks_finds_what_one_process_finds(monkeypatch):
    profiles = _file_of_persons()
    alone = match_whole_file("person", profiles, processes=1)
    forked = []
    monkeypatch.setattr(whole_file, "SHARED_FROM", 1)
    monkeypatch.setattr(whole_file, "_in_forks", lambda *arguments: forked.append(1) or in_forks(*arguments))
    shared = match_whole_file("person", profiles, processes=2)
    assert forked  # the comparisons were made in two forks
    assert shared == alone
    results, _aliases, _tokens = shared
    # each person's three records are one: the typo and the swap found it, and each other
    assert sum(comparison.decision == "match" for found in results for _line, comparison in found) == 3 * 40
