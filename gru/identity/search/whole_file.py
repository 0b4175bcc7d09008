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
import multiprocessing
from collections import Counter
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from gru.identity import matching, names
from gru.identity.search.bulk import HOUSEHOLD, SHARED_KEYS, lookup_keys, match_within, name_parts, same_key
from gru.identity.search.index import address_token, tokens_of
from gru.identity.search.vocabulary import more_common

#: lines from which :func:`match_whole_file` shares its work among processes (below,
#: forking costs more than it saves)
SHARED_FROM = 20000
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


def match_whole_file(kind, profiles, processes=1):
    """``([[(index, Comparison)]], aliases, tokens)``. First, as
    :func:`gru.identity.search.bulk.match_within`: for each profile, the earlier ones that
    :mod:`gru.identity.matching` does not call ``none``, best first; for a file of any
    size. Then the common forms of the file's misspelt name terms
    (:func:`gru.identity.search.vocabulary.more_common`), for the index: in a hub holding
    that file only, the counts are the file's. Then each profile's index tokens
    (:func:`gru.identity.search.index.tokens_of`), which the matching needed, for the
    index to take rather than make again (None for organisations). ``processes``: how
    many forks of this process share the comparisons of a file of persons of at least
    :data:`SHARED_FROM` lines (the results are the same)."""
    if kind != "person":
        # organisations are blocked on whole identifiers and their folded name: small blocks
        return match_within(kind, profiles), {}, None
    was_enabled = gc.isenabled()
    # A million profiles and their blocks are millions of long-lived containers: each
    # full collection would walk them all, and they hold no reference cycle to collect.
    gc.disable()
    try:
        return _match_persons(profiles, processes)
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _File:
    """The lines of a file of persons, and what looking them up needs."""

    profiles: list
    parts: list = field(init=False)  # (family words, given words) of each line
    counts: Counter = field(init=False)  # lines holding each word
    vocabulary: Vocabulary = field(init=False)
    tokens: list = field(init=False)  # index tokens of each line
    blocks: dict = field(init=False)

    def __post_init__(self):
        self.parts = [name_parts(profile) for profile in self.profiles]
        self.counts = Counter(word for families, given in self.parts for word in set(families + given))
        self.vocabulary = Vocabulary(self.counts)
        self.tokens = [tokens_of("person", profile) for profile in self.profiles]
        self.blocks = _blocks(self.tokens)


def _match_persons(profiles, processes):
    lines = _File(profiles)
    if processes > 1 and len(profiles) >= SHARED_FROM and "fork" in multiprocessing.get_all_start_methods():
        shares = _in_forks(lines, processes)
    else:
        shares = [_compare(lines, range(len(profiles)))]
    found, expanded = {}, {}
    for share_found, share_expanded in shares:
        for later, compared in share_found.items():
            found.setdefault(later, {}).update(compared)  # a pair found from both sides, by two shares
        expanded.update(share_expanded)
    results = []
    for index in range(len(profiles)):
        matched = list(found.get(index, {}).items())
        matched.sort(key=lambda item: (-item[1].weight, item[0]))
        results.append(matched)
    return results, more_common(expanded, lines.counts), lines.tokens


def _compare(lines, indexes):
    """Look each line of ``indexes`` up among all the lines of the file, and compare
    it with those found. Returns ``({later line: {earlier line: Comparison}}, the
    expansion of each word looked up)``, the comparisons that are not ``none`` only."""
    profiles, parts, counts, blocks = lines.profiles, lines.parts, lines.counts, lines.blocks
    expanded = {}
    found = {}  # {later line: {earlier line: Comparison or None}}
    for index in indexes:
        profile, (families, given) = profiles[index], parts[index]
        for word in families + given:
            if word not in expanded:
                # Only toward variants at least as common: "jaen", a typo held by one line,
                # looks up the lines of "jean", but not the other way round, as it would in
                # the hub (where "jean" has 61 variants one edit away after 134,000 lines
                # imported). Each pair is still looked up, from its rarer side.
                expanded[word] = tuple(term for term in lines.vocabulary.expansion(word)
                                       if counts[term] >= counts[word])
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
            compared = found.get(later)
            if compared is not None and earlier in compared:
                continue  # found from both sides
            if terms.isdisjoint(parts[other][0] + parts[other][1]) \
                    and not _same_home_or_number(profile, profiles[other], blocks):
                continue  # a key in common but no name (from this side): as bulk matching, not worth comparing
            if compared is None:
                compared = found[later] = {}
            comparison = matching.compare_persons(profiles[later], profiles[earlier])
            compared[earlier] = comparison if comparison.decision != "none" else None
    found = ((later, {earlier: comparison for earlier, comparison in compared.items() if comparison is not None})
             for later, compared in found.items())
    return {later: compared for later, compared in found if compared}, expanded


#: the file the forks of :func:`_in_forks` read (set by the parent just before forking:
#: a fork shares its memory, where sending a million profiles to a process would copy them)
_FORKED_FILE = None


def _in_forks(lines, processes):
    """:func:`_compare` for every line, shared among ``processes`` forks of this process
    (line ``i`` to share ``i % processes``): the lookups and comparisons are the most of
    the matching's time, and the process is alone on its CPU meanwhile (the database
    waits). The forks read the file and send back their comparisons only; they do not
    touch the database connection they inherit."""
    global _FORKED_FILE
    _FORKED_FILE = lines
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            return pool.map(_compare_share, [(share, processes) for share in range(processes)])
    finally:
        _FORKED_FILE = None


def _compare_share(share_of):
    share, processes = share_of
    return _compare(_FORKED_FILE, range(share, len(_FORKED_FILE.profiles), processes))


def _blocks(tokens):
    """``{key: line index, or [line indexes]}``: the lines under each of their blocking
    keys (``tokens``: each line's index tokens)."""
    blocks = {}
    for index, line_tokens in enumerate(tokens):
        for index_field, token in line_tokens:
            if index_field in _BLOCKING_FIELDS:
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
