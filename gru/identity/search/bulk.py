"""Matching many identities at once: imports and the duplicate-detection job.

Searching one person at a time costs three statements and a hundred comparisons; an
import of a million lines cannot afford that. Here a batch of persons is blocked with
selective keys only, looked up together:

- the birth date (``dYYYYMMDD``): about 30 persons per date in a million;
- the pairs (family-name token, first given name) in either order (``p:a:b``), one
  part at a time expanded to the vocabulary terms one edit away: namesakes only, and it
  survives a wrong birth date, swapped names and a typo in one of the names. (Both parts
  at once, the product of the two expansions, grew with the vocabulary, and the
  vocabulary grows with every misspelling imported: at 80,000 persons it made the
  matching of an import batch half of its time and still growing.)
- the social-security number (``ssn:NUMBER``), when the person has one, and the home
  (postal code, street number, first letters of the street's name; :func:`address_token`): they
  survive names and a birth date all wrong.

The few candidates of each record are then compared by :mod:`gru.identity.matching`,
the same comparison and thresholds as everywhere else. A person whose birth date is
wrong and whose two names are both misspelt is not found here.

On PostgreSQL the keys go to the database as one text parameter split there
(``string_to_array``): psycopg dumps a list parameter item by item in Python, which
cost more than the look-up itself for the tens of thousands of keys of a batch.
"""

from sqlalchemy import Text, any_, bindparam, func, select

from gru.extensions import db
from gru.identity import matching, names
from gru.identity.search.index import (
    IDENTIFIER_KEYS,
    address_token,
    birth_date_token,
    pair_token,
    profile_of,
    social_security_token,
)
from gru.identity.search.models import PartySearchEntry, PartySearchToken
from gru.identity.search.service import expand, match
from gru.identity.search.sql import among

CHUNK = 20000
#: index fields holding a person's name tokens (those of the profile's ``tokens``)
NAME_TOKEN_FIELDS = ("family_name", "usage_name", "given_names")
#: a home held by more parties than this is an institution or a domiciliation address (a
#: CCAS receives the mail of hundreds of people): no household, it makes no candidates
HOUSEHOLD = 20
_SEPARATOR = "\x1f"  # ASCII unit separator


def match_many(kind, attribute_sets, exclude_pks=None, limit=10, are_profiles=False):
    """``[[(party_pk, Comparison)]]``, one list per mapping of ``attribute_sets`` (in
    order), each best first without the ``none`` decisions. ``exclude_pks[i]`` is left
    out of the candidates of record ``i`` (the record itself, for the job);
    ``are_profiles``: the mappings are already profiles of the search index."""
    if kind == "person" and are_profiles:
        profiles = list(attribute_sets)
    elif kind != "person":
        return [match(kind, attributes, kinds=[kind], limit=limit,
                      exclude_pk=exclude_pks[index] if exclude_pks else None)
                for index, attributes in enumerate(attribute_sets)]
    else:
        profiles = [profile_of(kind, attributes) for attributes in attribute_sets]
    parts = [_name_parts(profile) for profile in profiles]
    words = sorted({word for families, given in parts for word in families + given})
    expanded = expand(words) if words else {}
    record_keys, all_keys = [], set()
    for profile, (families, given) in zip(profiles, parts):
        keys = _identity_keys(profile)
        if given:
            first = given[0]
            for family in families:
                keys.update(pair_token(left, first) for left in expanded.get(family, (family,)))
                keys.update(pair_token(family, right) for right in expanded.get(first, (first,)))
        record_keys.append(keys)
        all_keys |= keys
    holders = _holders(sorted(all_keys))
    term_sets = [{term for word in families + given for term in expanded.get(word, {word: None})}
                 for families, given in parts]
    candidate_sets, by_date_only = [], []
    for index, (profile, keys) in enumerate(zip(profiles, record_keys)):
        pks, dated = set(), set()
        date_key = birth_date_token(profile["birth_date"]) if profile.get("birth_date") else None
        for key in keys:
            held = holders.get(key, set())
            if key == date_key:  # namesakes or not
                dated |= held
            elif not (key.startswith("a:") and len(held) > HOUSEHOLD):  # a:... is a home (address_token)
                pks |= held
        if exclude_pks:
            pks.discard(exclude_pks[index])
            dated.discard(exclude_pks[index])
        candidate_sets.append(pks)
        by_date_only.append(dated - pks)
    # Holders of the birth date only are compared when they share a name term: their
    # names are read from the token table (plain rows) before any profile is decoded.
    names_of = _name_tokens(sorted(set().union(*by_date_only)) if by_date_only else [])
    for pks, dated, terms in zip(candidate_sets, by_date_only, term_sets):
        pks.update(pk for pk in dated if terms & names_of.get(pk, set()))
    entries = _profiles(sorted(set().union(*candidate_sets)) if candidate_sets else [])
    results = []
    for profile, (families, given), pks, terms in zip(profiles, parts, candidate_sets, term_sets):
        found = []
        for pk in pks:
            other = entries.get(pk)
            if other is None:
                continue
            has_name = terms & {token for _field, token in other.get("tokens", ())}
            if not has_name and not _same_key(profile, other, holders):
                continue  # same birth date, no name in common: not worth comparing
            comparison = matching.compare_persons(profile, other)
            if comparison.decision != "none":
                found.append((pk, comparison))
        found.sort(key=lambda item: (-item[1].weight, item[0]))
        results.append(found[:limit])
    return results


def _same_key(profile, other, holders):
    """One social-security number, or one home (a household's, not a domiciliation
    address): worth comparing even without a name in common."""
    number = profile.get("social_security_number")
    home = address_token(profile.get("address"))
    return bool(number and number == other.get("social_security_number")
                or home and home == address_token(other.get("address")) and len(holders.get(home, ())) <= HOUSEHOLD)


def _name_parts(profile):
    families = names.name_tokens(profile.get("family")) + names.name_tokens(profile.get("usage"))
    return families, names.name_tokens(profile.get("given"), glue_whole=False)


def _holders(keys):
    holders = {}
    is_postgresql = db.session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        if is_postgresql:  # tokens are folded letters, digits and ":": never the separator
            condition = PartySearchToken.token == any_(func.string_to_array(
                bindparam(None, _SEPARATOR.join(chunk), type_=Text), _SEPARATOR))
        else:
            condition = among(PartySearchToken.token, chunk)
        for token, party_pk in db.session.execute(
                select(PartySearchToken.token, PartySearchToken.party_pk).where(condition)):
            holders.setdefault(token, set()).add(party_pk)
    return holders


def _name_tokens(pks):
    """``{party_pk: {name token}}`` of persons ``pks`` (what their profile's ``tokens`` hold)."""
    tokens = {}
    for start in range(0, len(pks), CHUNK):
        for party_pk, token in db.session.execute(
                select(PartySearchToken.party_pk, PartySearchToken.token)
                .where(among(PartySearchToken.party_pk, pks[start:start + CHUNK]),
                       PartySearchToken.field.in_(NAME_TOKEN_FIELDS))):
            tokens.setdefault(party_pk, set()).add(token)
    return tokens


def _profiles(pks):
    profiles = {}
    for start in range(0, len(pks), CHUNK):
        profiles.update(db.session.execute(
            select(PartySearchEntry.party_pk, PartySearchEntry.profile)
            .where(among(PartySearchEntry.party_pk, pks[start:start + CHUNK]), PartySearchEntry.kind == "person")).all())
    return profiles


def match_within(kind, profiles):
    """``[[(index, Comparison)]]``: for each profile of the list, the earlier ones
    (smaller index) that :mod:`gru.identity.matching` does not call ``none``, best first.

    The lines of one import batch, not in the index yet, compared with each other: blocked
    on the keys the index gives them (birth date, name pairs, social-security number,
    home; for organisations the identifiers and the whole folded name). The batch's names are not in the vocabulary
    yet, so instead of its expansion one part of a pair at a time is taken under its
    deletion keys (:func:`gru.identity.names.deletion_keys`): two lines one typo apart in
    one of the names share a key, as they would through the index once committed, so that
    how a file is cut into batches changes almost nothing. (Both parts at once would find
    a typo in each name too, at twice the cost of the whole import's matching; the birth
    date key finds those when the dates agree.)
    """
    blocks, results = {}, []
    for index, profile in enumerate(profiles):
        found, seen = [], set()
        for key in _own_keys(kind, profile):
            block = blocks.setdefault(key, [])
            if key.startswith("a:") and len(block) >= HOUSEHOLD:
                continue  # a domiciliation address, not a household (as in match_many)
            for other in block:
                if other not in seen:
                    seen.add(other)
                    comparison = matching.compare(kind, profile, profiles[other])
                    if comparison.decision != "none":
                        found.append((other, comparison))
            block.append(index)
        found.sort(key=lambda item: (-item[1].weight, item[0]))
        results.append(found)
    return results


def _own_keys(kind, profile):
    if kind != "person":
        keys = {f"{key}:{profile[key]}" for key in IDENTIFIER_KEYS if profile.get(key)}
        if profile.get("name"):
            keys.add(f"name:{profile['name']}")
        return keys
    families, given = _name_parts(profile)
    keys = set()
    if given:
        for family in families:
            keys.update(pair_token(left, given[0]) for left in names.deletion_keys(family))
            keys.update(pair_token(family, right) for right in names.deletion_keys(given[0]))
    return keys | _identity_keys(profile)


def _identity_keys(profile):
    """The blocking keys of a person that are not names: the birth date, the
    social-security number and the home, those the profile has."""
    keys = set()
    if profile.get("birth_date"):
        keys.add(birth_date_token(profile["birth_date"]))
    if profile.get("social_security_number"):
        keys.add(social_security_token(profile["social_security_number"]))
    home = address_token(profile.get("address"))
    if home:
        keys.add(home)
    return keys
