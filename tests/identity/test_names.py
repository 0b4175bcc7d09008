"""Names folded and tokenised as agents type them (issue 6, "Names and normalisation")."""

import pytest

from gru.identity import names


@pytest.mark.parametrize("raw, folded", [
    ("Élise-Marie", "elise marie"),
    ("D'ARCY", "d arcy"),
    ("Nguyễn Thị", "nguyen thi"),
    ("Œuvre", "oeuvre"),
    ("  Wamytan  ", "wamytan"),
])
def test_fold_removes_case_accents_and_separators(raw, folded):
    assert names.fold(raw) == folded


def test_particles_are_indexed_glued_and_apart():
    assert set(names.name_tokens("de la Croix")) == {"croix", "delacroix"}
    assert "delacroix" in names.name_tokens("Delacroix")
    assert set(names.name_tokens("Le Goff")) == {"goff", "legoff"}


def test_each_token_of_a_compound_name_is_indexed():
    assert set(names.name_tokens("Martin-Dupont")) == {"martin", "dupont", "martindupont"}


@pytest.mark.parametrize("raw, expected", [
    ("Dupont née Martin", ("Martin", "Dupont")),
    ("Martin épouse Dupont", ("Martin", "Dupont")),
    ("Martin ép. Dupont", ("Martin", "Dupont")),
    ("Martin veuve Dupont", ("Martin", "Dupont")),
    ("Martin", ("Martin", None)),
])
def test_civil_words_split_birth_and_usage_names(raw, expected):
    assert names.split_civil_name(raw) == expected


def test_civil_words_are_never_tokens():
    assert "nee" not in names.query_tokens("Dupont née Martin")


@pytest.mark.parametrize("raw, expected", [
    ("SARL Dumbéa Froid", "dumbea froid"),
    ("Dumbéa Froid SAS", "dumbea froid"),
    ("Association des Amis du Lagon", "amis lagon"),
])
def test_organisation_names_lose_their_legal_form(raw, expected):
    assert names.organisation_name(raw) == expected


def test_tokens_one_edit_apart_share_a_deletion_key():
    assert names.deletion_keys("wamytan") & names.deletion_keys("wamitan")
    assert names.deletion_keys("martin") & names.deletion_keys("matrin")  # transposition
    assert not names.deletion_keys("martin") & names.deletion_keys("morton")
