"""Matching the lines of a whole file with each other, in memory: the initial load.

An initial load (:mod:`gru.identity.initial_load`) fills a hub holding no party of its
kind: no line has a candidate in the hub, and each line is compared with the lines
before it in the file instead, up to a million of them. A batch import would find those
through the search index, once committed; here each line is kept in memory under the
blocking keys the index would give it (:func:`gru.identity.search.index.tokens_of`) and
looks up the earlier ones under the keys bulk matching looks a person up with
(:func:`gru.identity.search.bulk.lookup_keys`), the file's own vocabulary standing for
the hub's (:class:`Vocabulary`). A line thus finds the same earlier lines as if they had
been imported before it, and is compared with them by :mod:`gru.identity.matching`, the
same comparison and thresholds as everywhere else.
"""

import gc
from collections import Counter

from rapidfuzz.distance import OSA

from gru.identity import matching, names
from gru.identity.search.bulk import HOUSEHOLD, SHARED_KEYS, lookup_keys, match_within, name_parts, same_key
from gru.identity.search.index import address_token, tokens_of
from gru.identity.search.vocabulary import more_common

#: the index fields whose tokens bulk matching looks up (the birth date alone is not one)
_BLOCKING_FIELDS = frozenset(("pair", "dated_pair", "dated_name", "ssn", "address", "email", "phone"))


class Vocabulary:
    """The name words of a file, each with the words at most one edit away (the hub's
    vocabulary does the same with ``search_term_keys``: :func:`gru.identity.search.service.expand`)."""

    def __init__(self, words):
        self._by_key = {}
        for word in words:
            for key in names.deletion_keys(word):
                self._by_key.setdefault(key, []).append(word)

    def expansion(self, word):
        """``word`` and the words of the file one insertion, deletion, substitution or
        transposition away from it."""
        if len(word) < names.MIN_FUZZY_LENGTH:
            return (word,)
        near = {word}
        for key in names.deletion_keys(word):
            for other in self._by_key.get(key, ()):
                if other not in near and OSA.distance(word, other) <= 1:
                    near.add(other)
        return tuple(near)


def match_whole_file(kind, profiles):
    """``([[(index, Comparison)]], aliases)``. First, as :func:`gru.identity.search.bulk.match_within`:
    for each profile, the earlier ones that :mod:`gru.identity.matching` does not call
    ``none``, best first; for a file of any size. Then the common forms of the file's
    misspelt name terms (:func:`gru.identity.search.vocabulary.more_common`), for the
    index: in a hub holding that file only, the counts are the file's."""
    if kind != "person":
        # organisations are blocked on whole identifiers and their folded name: small blocks
        return match_within(kind, profiles), {}
    was_enabled = gc.isenabled()
    # A million profiles and their blocks are millions of long-lived containers: each
    # full collection would walk them all, and they hold no reference cycle to collect.
    gc.disable()
    try:
        return _match_persons(profiles)
    finally:
        if was_enabled:
            gc.enable()


def _match_persons(profiles):
    parts = [name_parts(profile) for profile in profiles]
    counts = Counter(word for families, given in parts for word in set(families + given))
    vocabulary = Vocabulary(counts)
    blocks = _blocks(profiles)
    expanded = {}
    found = [None] * len(profiles)  # for each line: {earlier line: Comparison or None}
    for index, (profile, (families, given)) in enumerate(zip(profiles, parts)):
        for word in families + given:
            if word not in expanded:
                # Only toward variants at least as common: "jaen", a typo held by one line,
                # looks up the lines of "jean", but not the other way round, as it would in
                # the hub (where "jean" has 61 variants one edit away after 134,000 lines
                # imported). Each pair is still looked up, from its rarer side.
                expanded[word] = tuple(term for term in vocabulary.expansion(word) if counts[term] >= counts[word])
        terms = {term for word in families + given for term in expanded[word]}
        candidates = set()
        for key in lookup_keys(profile, families, given, expanded, terms):
            held = blocks.get(key)
            if held is None:
                continue
            if isinstance(held, int):
                candidates.add(held)
            elif not (key[:2] in SHARED_KEYS and len(held) > HOUSEHOLD):
                candidates.update(held)
        candidates.discard(index)
        for other in candidates:
            earlier, later = min(index, other), max(index, other)
            compared = found[later]
            if compared is not None and earlier in compared:
                continue  # found from both sides
            if terms.isdisjoint(parts[other][0] + parts[other][1]) \
                    and not _same_home_or_number(profile, profiles[other], blocks):
                continue  # a key in common but no name (from this side): as bulk matching, not worth comparing
            if compared is None:
                compared = found[later] = {}
            comparison = matching.compare_persons(profiles[later], profiles[earlier])
            compared[earlier] = comparison if comparison.decision != "none" else None
    results = []
    for compared in found:
        matched = [(other, comparison) for other, comparison in (compared or {}).items() if comparison is not None]
        matched.sort(key=lambda item: (-item[1].weight, item[0]))
        results.append(matched)
    return results, more_common(expanded, counts)


def _blocks(profiles):
    """``{key: line index, or [line indexes]}``: the lines under each of their blocking keys."""
    blocks = {}
    for index, profile in enumerate(profiles):
        for field, token in tokens_of("person", profile):
            if field in _BLOCKING_FIELDS:
                held = blocks.get(token)
                if held is None:
                    blocks[token] = index
                elif isinstance(held, int):
                    blocks[token] = [held, index]
                else:
                    held.append(index)
    return blocks


def _same_home_or_number(profile, other, blocks):
    """:func:`gru.identity.search.bulk.same_key`, the file's blocks holding the home's holders."""
    home = address_token(profile.get("address"))
    held = blocks.get(home, ()) if home else ()
    return same_key(profile, other, {home: (held,) if isinstance(held, int) else held})
