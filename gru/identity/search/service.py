"""Finding parties: typo-tolerant search for agents and applications, and matching.

Both run in two steps (issue 6, "Search"; team guidance "Index design"):

1. **candidates**: each query token, and every vocabulary term one edit away from it
   (symmetric-deletion keys, :func:`gru.identity.names.deletion_keys`), is looked up in
   ``party_search_tokens`` with indexed equality; the parties sharing the most tokens
   (and the birth date, when given) are kept, at most :data:`CANDIDATES`;
2. **re-ranking**: those few are compared with Jaro-Winkler (rapidfuzz) on folded names,
   the birth date and the commune as boosters; matching uses the pairwise comparison of
   :mod:`gru.identity.matching` instead.

Only plain B-tree lookups: the same candidates, scores and order on SQLite and PostgreSQL.
"""

import functools
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, case, cast, func, literal_column, null, or_, select, union_all

from gru.errors import ValidationFailed
from gru.extensions import db
from gru.identity import matching, names
from gru.identity.models import GoldenValue, Identifier, Party
from gru.identity.search.index import (
    IDENTIFIER_KEYS,
    KEY_FIELDS,
    birth_date_token,
    pair_token,
    profile_of,
    tokens_of,
)
from gru.identity.search.models import PartySearchEntry, PartySearchToken
from gru.identity.search.sql import among_bound, dialect_name, flushed_connection
from gru.identity.search.vocabulary import expand
from gru.identity.validators import birth_date as validate_birth_date

#: candidates re-ranked per search, those with the most hits. Measured on the search
#: benchmark at 1,000,000 persons: 100 finds the person in the first 10 as often as 200
#: (94.7 %, first with the birth date 100 %) for 1.8 ms less CPU a search; 50 loses
#: 0.7 point.
CANDIDATES = 100
MATCH_CANDIDATES = 100
PERSON_FIELDS = ("family_name", "usage_name", "given_names")
ORGANISATION_FIELDS = ("name",)
MIN_SIMILARITY = 0.8
#: the coverage of a query that names one half of a compound name and the given name
#: (:func:`_compound_halves`): 0.975 in all, between the namesakes of the query (1.0) and
#: those one letter off (about 0.97). Measured on the search benchmark at 1,000,000
#: persons, queries naming half of a compound name: 42 % in the first 10 (25 % with the
#: whole name's coverage alone, 2/3); 1.0 found 62 % but put them among the namesakes
#: and lost 1.7 points on the other queries, 0.9 loses none.
HALF_COVERAGE = 0.9
#: a query word held by more parties than this is too common to make candidates alone
RARE = 1000


def searchable_fields(contract, kind=None):
    """The index fields a contract may search (``may_search``), for ``kind`` or any kind."""
    fields = [key for key in PERSON_FIELDS if contract.may_search(key) and kind in (None, "person")]
    if kind != "person" and (contract.may_search("name") or contract.may_search("legal_name")):
        fields.append("name")
    return fields


@dataclass
class Hit:
    party_pk: int
    score: float
    reasons: list


def candidate_pks(terms, fields, limit, extra_tokens=()):
    """Parties sharing the most of ``terms`` (in ``fields``) and ``extra_tokens``."""
    conditions = [PartySearchToken.token.in_(sorted(terms)) & PartySearchToken.field.in_(fields)] if terms else []
    if extra_tokens:
        conditions.append(PartySearchToken.token.in_(sorted(extra_tokens)))
    if not conditions:
        return []
    hits = func.count().label("hits")
    query = (
        select(PartySearchToken.party_pk, hits)
        .where(or_(*conditions))
        .group_by(PartySearchToken.party_pk)
        .order_by(hits.desc(), PartySearchToken.party_pk)
        .limit(limit)
    )
    return [row.party_pk for row in db.session.execute(query)]


def candidate_entries(expanded, fields, extra_tokens, limit, kinds=None, particles=()):
    """The index entries ``(party_pk, kind, profile)`` of the candidates of a free-text
    search, most hits first (ties: oldest first), those of ``kinds`` (None: all).

    Each query word (with its terms one edit away) is looked up with ``LIMIT``
    :data:`RARE` + 1: a word held by more parties than that ("marie", "martin" in a
    large base) does not make candidates by itself, it is too common to tell anyone
    apart; pairs of query words are looked up as (family name, first given name) keys
    instead, which are selective whatever the names. The birth date, when given, adds
    its holders. Only when nothing is found that way are the common words aggregated
    (:func:`candidate_pks`). Every lookup is an indexed equality, and the cut-off is
    all-or-nothing, so that SQLite and PostgreSQL return the same candidates.
    ``particles`` (:func:`gru.identity.names.query_particles`) are paired with the query
    words too: "Lê Aiko" finds Aiko Lê, whose family name is a particle's spelling.

    A party counts one hit per query word it holds, and per pair of query words it
    holds as a pair key: two, three when both words are as typed, so that among the
    holders of a common pair those named as the query is written come first, as the
    re-ranking will put them (all tied, the cut to ``limit`` would keep the oldest,
    "Girard Paul" before "Gérard Paul"). "Jean Garcia-Chevalier" gives Jean
    Garcia-Chevalier the pairs (garcia, jean) and (chevalier, jean), each counted: ahead
    of every Jean Garcia.

    One statement does it all (:func:`_candidates_statement`): the look-ups, the count of
    hits, the cut to ``limit`` and the candidates' profiles; the kind is filtered after
    the cut, as the re-ranking would.
    """
    tokens = list(expanded)
    if not tokens and not extra_tokens:  # matching an organisation by its identifiers only
        return []
    values = {f"terms_{index}": sorted(expanded[token]) for index, token in enumerate(tokens)}
    values.update(fields=list(fields), rare=RARE, rare_limit=RARE + 1, limit=limit)
    groups = _pair_groups(tokens, particles) if set(PERSON_FIELDS) <= set(fields) else []
    for index, (first, second) in enumerate(groups):
        values[f"pairs_{index}"] = sorted({pair_token(left, right) for left in expanded.get(first, (first,))
                                           for right in expanded[second]})
        values[f"exact_{index}"] = pair_token(first, second)
    if extra_tokens:
        values["births"] = sorted(extra_tokens)
    statement = _candidates_statement(dialect_name(), len(tokens), len(groups), bool(extra_tokens))
    rows = flushed_connection().execute(statement, values).all()
    common = [tokens[row.tag] for row in rows if row.party_pk is None]
    found = sorted((row for row in rows if row.party_pk is not None), key=lambda row: (-row.hits, row.party_pk))
    if not found and common:
        terms = {term for token in common for term in expanded[token]}
        return entries_of(candidate_pks(terms, fields, limit), kinds)
    return [row for row in found if kinds is None or row.kind in kinds]


_BIRTH, _FIRST_PAIR = -2, -3


def _pair_groups(tokens, particles):
    """The pairs of query words looked up as pair keys: each two words, and each
    particle with each word (its tag :data:`_FIRST_PAIR` minus its position)."""
    pairs = [(first, second) for index, first in enumerate(tokens) for second in tokens[index + 1:]]
    return pairs + [(particle, token) for particle in particles for token in tokens]


@functools.cache
def _candidates_statement(dialect, words, pair_groups, has_birth):
    """``(tag, party_pk, hits, kind, profile)`` rows of a search of ``words`` query words
    and ``pair_groups`` pairs of them (built once per shape; the values are bound at
    execution): the candidates, ``tag`` NULL, at most ``limit`` of those with the most
    hits, with their index entry; then one row ``(i, NULL, ...)`` for each word ``i``
    too common to make candidates (:func:`_lookups`)."""
    lookups = _lookups(dialect, words, pair_groups, has_birth).cte("lookups")
    if dialect == "postgresql":
        lookups = lookups.prefix_with("MATERIALIZED")  # read once, by both branches
    found = (select(lookups.c.party_pk, func.max(lookups.c.weight).label("weight"))
             .where(lookups.c.party_pk.is_not(None)).group_by(lookups.c.tag, lookups.c.party_pk).subquery("found"))
    hits = func.sum(found.c.weight).label("hits")
    counted = (select(found.c.party_pk, hits).group_by(found.c.party_pk)
               .order_by(hits.desc(), found.c.party_pk).limit(bindparam("limit", type_=Integer)).subquery("counted"))
    candidates = (select(cast(null(), Integer).label("tag"), counted.c.party_pk, counted.c.hits, PartySearchEntry.kind,
                         PartySearchEntry.profile)
                  .join_from(counted, PartySearchEntry, PartySearchEntry.party_pk == counted.c.party_pk))
    markers = select(lookups.c.tag, null(), null(), null(), null()).where(lookups.c.party_pk.is_(None))
    return union_all(candidates, markers)  # the candidates first: their column types process the rows


def _lookups(dialect, words, pair_groups, has_birth):
    """The ``(tag, party_pk, weight)`` lookups of a search, in one ``UNION ALL``.

    Word ``i`` (tag ``i``, its terms ``terms_i``, in ``fields``) is read with ``LIMIT
    rare_limit`` (:data:`RARE` + 1); one that finds more than ``rare`` rows answers one
    row ``(i, NULL)`` instead of its rows: the cut-off is decided in the database, which
    then sends a few dozen rows rather than a thousand for every common given name. Pair
    ``k`` (tag :data:`_FIRST_PAIR` - ``k``, its keys ``pairs_k``, weight 3 for the key
    ``exact_k`` of the words as typed, else 2) and the birth date (tag :data:`_BIRTH`)
    have no cut-off.
    """
    token, field, party_pk = PartySearchToken.token, PartySearchToken.field, PartySearchToken.party_pk
    rare, one = bindparam("rare", type_=Integer), literal_column("1")
    parts = []
    for index in range(words):
        query = (select(party_pk).where(among_bound(token, f"terms_{index}", dialect), among_bound(field, "fields", dialect))
                 .limit(bindparam("rare_limit", type_=Integer)))
        rows = query.cte(f"word_{index}").prefix_with("MATERIALIZED")  # read once, counted from memory
        found = select(func.count()).select_from(rows).scalar_subquery()
        parts.append(select(literal_column(str(index)).label("tag"), rows.c.party_pk, one.label("weight"))
                     .where(found <= rare))
        parts.append(select(literal_column(str(index)), null(), null()).where(found > rare))
    for index in range(pair_groups):
        weight = case((token == bindparam(f"exact_{index}", type_=PartySearchToken.token.type), 3), else_=2)
        parts.append(select(literal_column(str(_FIRST_PAIR - index)), party_pk, weight).where(
            among_bound(token, f"pairs_{index}", dialect), field == "pair"))
    if has_birth:
        parts.append(select(literal_column(str(_BIRTH)), party_pk, one).where(among_bound(token, "births", dialect)))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def parties_in_order(pks):
    """The parties of ``pks``, in that order."""
    if not pks:
        return []
    parties = {party.pk: party for party in db.session.scalars(select(Party).where(Party.pk.in_(pks)))}
    return [parties[pk] for pk in pks if pk in parties]


def entries_of(pks, kinds):
    """``(party_pk, kind, profile)`` rows of ``pks`` (plain rows: no ORM objects)."""
    if not pks:
        return []
    values = {"pks": list(pks)} if kinds is None else {"pks": list(pks), "kinds": list(kinds)}
    return flushed_connection().execute(_entries_statement(dialect_name(), kinds is not None), values).all()


@functools.cache
def _entries_statement(dialect, has_kinds):
    query = select(PartySearchEntry.party_pk, PartySearchEntry.kind, PartySearchEntry.profile).where(
        among_bound(PartySearchEntry.party_pk, "pks", dialect))
    return query.where(among_bound(PartySearchEntry.kind, "kinds", dialect)) if has_kinds else query


def search(q, *, fields, kinds=None, birth_date=None, commune=None, limit=20):
    """Parties whose names match the free text ``q``, best first, each with its reasons.

    ``fields`` are the name fields the caller may search; ``kinds`` the party kinds it
    covers. The birth date (``YYYY-MM-DD``, ``00`` for unknown parts) and the commune
    (INSEE code of birth place or address) raise or lower the score; they do not filter.
    """
    tokens = names.query_tokens(q or "")
    if not tokens:
        raise ValidationFailed({"q": ["Give at least one name of two letters or more."]})
    if birth_date is not None:
        try:
            birth_date = validate_birth_date(birth_date)
        except Exception as error:  # InvalidValue
            raise ValidationFailed({"birth_date": [getattr(error, "detail", str(error))]}) from None
    expanded = expand(tokens)
    extra = {birth_date_token(birth_date)} if birth_date else set()
    entries = candidate_entries(expanded, fields, extra, CANDIDATES, kinds, particles=names.query_particles(q))
    similar = _Similarities(tokens)
    hits = [_rank(entry, tokens, expanded, fields, birth_date, commune, similar) for entry in entries]
    hits = [hit for hit in hits if hit is not None]
    hits.sort(key=lambda hit: (-hit.score, hit.party_pk))
    return hits[:limit]


class _Term(dict):
    """``{term: similarity(token, term)}`` of one query token, computed on first use."""

    def __init__(self, token):
        super().__init__()
        self.token = token

    def __missing__(self, term):
        value = self[term] = matching.similarity(self.token, term)
        return value


class _Similarities:
    """The Jaro-Winkler similarities of one search, each computed once: the candidates
    share most of their names ("martin", "marie"), and re-ranking 100 of them would
    otherwise compare the same pairs again and again."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.of = {token: _Term(token) for token in tokens}
        self.covered = {}

    def is_covered(self, word):
        """Whether some query token names ``word`` (Jaro-Winkler >= 0.88)."""
        covered = self.covered.get(word)
        if covered is None:
            covered = self.covered[word] = any(matching.similarity(word, token) >= 0.88 for token in self.tokens)
        return covered


def _rank(entry, tokens, expanded, fields, birth_date, commune, similar):
    stored = entry.profile.get("tokens")
    candidate = [(field, token) for field, token in (stored if stored is not None else tokens_of(entry.kind, entry.profile))
                 if field in fields]
    if not candidate:
        return None
    reasons, total = [], 0.0
    for token in tokens:
        best_field, best_sim, best_term = None, 0.0, None
        similarity = similar.of[token]
        for field, term in candidate:
            sim = 1.0 if term == token else similarity[term]
            if sim > best_sim:
                best_field, best_sim, best_term = field, sim, term
        if best_sim < MIN_SIMILARITY:
            reasons.append({"query": token, "agreement": "none"})
            continue
        agreement = "exact" if best_sim == 1.0 else "typo" if best_term in expanded[token] else "similar"
        reasons.append({"query": token, "field": best_field, "agreement": agreement, "similarity": round(best_sim, 3)})
        total += best_sim
    name_score = total / len(tokens)
    if name_score == 0:
        return None
    coverage = max([_coverage(words, similar) for words in _primary_words(entry.profile)]
                   # below the name as a whole, above a namesake one letter off
                   + [HALF_COVERAGE * _coverage(words, similar) for words in _compound_halves(entry.profile)])
    score = 0.75 * name_score + 0.25 * coverage
    profile = entry.profile
    if birth_date:
        level = matching.compare_birth_dates(birth_date, profile.get("birth_date"))
        bonus = {"exact": 0.3, "compatible": 0.15, "typo": 0.05, "different": -0.3}.get(level, 0.0)
        score += bonus
        reasons.append({"field": "birth_date", "agreement": level})
    if commune:
        places = {profile.get("birth_place"), (profile.get("address") or {}).get("commune")}
        if commune in places:
            score += 0.1
            reasons.append({"field": "commune", "agreement": "exact"})
    return Hit(entry.party_pk, round(score, 4), reasons)


def _primary_words(profile):
    """The words a front-desk query names: birth name (or usage name, or organisation
    name) and the first given name; one set per way of naming the party. Further given
    names are left out: "Sophie Martin" names Sophie Anne Martin as well as Sophie
    Martin, and counting them would put every namesake with fewer given names first."""
    given = _first_given(profile)
    sets = [f"{profile.get('family') or ''} {given}", f"{profile.get('usage') or ''} {given}"] \
        if profile.get("usage") else [f"{profile.get('family') or profile.get('name') or ''} {given}"]
    return [_significant(text) for text in sets]


def _compound_halves(profile):
    """The words of each half of a compound birth name with the first given name:
    "Rouorroux Marc" names Marc Rouorroux-Faure, as many go by one half of their name."""
    family = _significant(profile.get("family") or "")
    if len(family) < 2:
        return []
    given = _first_given(profile)
    return [_significant(f"{word} {given}") for word in sorted(family)]


def _first_given(profile):
    return " ".join((profile.get("given") or "").split()[:1])


def _significant(text):
    return {word for word in text.split() if word not in names.PARTICLES and len(word) >= names.MIN_TOKEN_LENGTH}


def _coverage(words, similar):
    """The share of ``words`` that some query token names (Jaro-Winkler >= 0.88)."""
    if not words:
        return 0.0
    return sum(1 for word in words if similar.is_covered(word)) / len(words)


def match(kind, attributes, *, kinds=None, limit=10, exclude_pk=None):
    """Candidates for the identity ``attributes`` (already validated), best first:
    ``[(party_pk, Comparison)]``, those the comparison calls ``none`` left out."""
    profile = profile_of(kind, attributes)
    rows = tokens_of(kind, profile)
    name_terms = [token for field, token in rows if field not in KEY_FIELDS]
    extra = {token for field, token in rows if field in ("birth_date", "ssn")}
    expanded = expand(name_terms)
    fields = PERSON_FIELDS if kind == "person" else ORGANISATION_FIELDS
    entries = candidate_entries(expanded, fields, extra, MATCH_CANDIDATES, [kind])
    if kind != "person":  # those holding one of its identifiers first
        known = {entry.party_pk for entry in entries}
        identified = [pk for pk in dict.fromkeys(identified_pks(attributes)) if pk not in known]
        entries = entries_of(identified, [kind]) + entries
    results = []
    for entry in (entry for entry in entries if entry.party_pk != exclude_pk):
        comparison = matching.compare(kind, profile, entry.profile)
        if comparison.decision != "none":
            results.append((entry.party_pk, comparison))
    results.sort(key=lambda item: (-item[1].weight, item[0]))
    return results[:limit]


def identified_pks(attributes):
    """Organisations holding one of the SIRET, SIREN, RIDET or RNA given."""
    pks = []
    for key in IDENTIFIER_KEYS:
        value = attributes.get(key)
        if not value:
            continue
        pks.extend(db.session.scalars(
            select(GoldenValue.party_pk).where(GoldenValue.attribute_key == key, GoldenValue.lookup == str(value))
        ))
        pks.extend(db.session.scalars(select(Identifier.party_pk).where(Identifier.type == key, Identifier.value == str(value))))
    return pks
