"""Matching many identities at once: imports and the duplicate-detection job.

Searching one person at a time costs three statements and a hundred comparisons; an
import of a million lines cannot afford that. Here a batch of persons is blocked with
selective keys only, looked up together:

- the birth date with each name term, expanded to the vocabulary terms one edit away
  (``n:19750312:martin``, :func:`dated_name_token`): persons born that day who share a
  name, a maiden name or another given name notwithstanding. (The birth date alone holds
  about 30 persons a day in a million; fetching them with their names to keep those
  sharing one cost half a second for 1,000 records.)
- the pairs (family-name token, first given name) in either order, one part at a time
  expanded to the vocabulary terms one edit away, with the birth year or with the day
  and month (``q:y1975:a:b``, ``q:m0312:a:b``; :func:`dated_pair_tokens`): namesakes
  whose birth date agrees, is one digit off, has day and month swapped or is unknown,
  and it survives swapped names and a typo in one of the names. (Both parts at once,
  the product of the two expansions, grew with the vocabulary, and the vocabulary grows
  with every misspelling imported: at 80,000 persons it made the matching of an import
  batch half of its time and still growing.) Namesakes born on another date are left
  out: at 1,000,000 persons they were 96 % of the candidates these keys brought, and
  :mod:`gru.identity.matching` can only call them ``possible`` with a social-security
  number, an e-mail or a phone in common, which are keys of their own. A person
  without a birth date is looked up under the plain pairs (``p:a:b``): every namesake.
- the social-security number (``ssn:NUMBER``), the e-mail (``e:``) and phones (``t:``),
  when the person has them, and the home (postal code, street number, first letters of
  the street's name; :func:`address_token`): they survive names and a birth date all
  wrong. A home, an e-mail or a phone held by more than :data:`HOUSEHOLD` parties is an
  institution's, and brings no candidates.

A name is not expanded to its misspellings (a common name to its hundred variants each
held by a party or two): a party holding a misspelling is indexed under the common
form's keys instead (:mod:`gru.identity.search.vocabulary`). Measured after an initial
load of 1,002,323 lines, whose typos fill the vocabulary, the full expansion took 4.1 to
7.7 s for 1,000 records.

The few candidates of each record are then compared by :mod:`gru.identity.matching`,
the same comparison and thresholds as everywhere else. A person whose birth date is
wrong and whose two names are both misspelt is not found here.

The keys of a batch are looked up in one statement, as one text parameter split and
joined to the index on PostgreSQL (:func:`gru.identity.search.sql.select_among`).
"""


from gru.extensions import db
from gru.identity import matching, names
from gru.identity.search import vocabulary
from gru.identity.search.index import (
    IDENTIFIER_KEYS,
    address_token,
    birth_date_token,
    dated_name_token,
    dated_pair_tokens,
    email_token,
    pair_token,
    phone_token,
    profile_of,
    social_security_token,
)
from gru.identity.search.models import PartySearchEntry, PartySearchToken
from gru.identity.search.service import match
from gru.identity.search.sql import flushed_connection, select_among
from gru.identity.search.vocabulary import expand

CHUNK = 20000
#: a home held by more parties than this is an institution or a domiciliation address (a
#: CCAS receives the mail of hundreds of people): no household, it makes no candidates
HOUSEHOLD = 20
#: keys that many parties may share: a home (:func:`address_token`), an e-mail or a phone
#: (a household's, or an institution's); held by more than :data:`HOUSEHOLD`, no candidates
SHARED_KEYS = ("a:", "e:", "t:")
#: the keys made of a name (dated or paired): their holders share a name with the record, or with its alias
NAME_KEYS = ("n:", "q:", "p:")


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
    parts = [name_parts(profile) for profile in profiles]
    words = sorted({word for families, given in parts for word in families + given})
    expanded = _toward_common(expand(words)) if words else {}
    term_sets = [{term for word in families + given for term in expanded.get(word, {word: None})}
                 for families, given in parts]
    record_keys, all_keys = [], set()
    for profile, (families, given), terms in zip(profiles, parts, term_sets):
        keys = lookup_keys(profile, families, given, expanded, terms)
        record_keys.append(keys)
        all_keys |= keys
    holders = _holders(sorted(all_keys))
    candidate_sets, named_sets = [], []
    for index, keys in enumerate(record_keys):
        pks, named = set(), set()
        for key in keys:
            held = holders.get(key, ())
            if key[:2] in NAME_KEYS:
                named.update(held)
            elif not (key[:2] in SHARED_KEYS and len(held) > HOUSEHOLD):
                pks.update(held)
        pks |= named
        if exclude_pks:
            pks.discard(exclude_pks[index])
        candidate_sets.append(pks)
        named_sets.append(named)
    entries = _profiles(sorted(set().union(*candidate_sets)) if candidate_sets else [])
    # each candidate's name terms once: a namesake is the candidate of many lines of a batch
    entry_terms = {pk: {token for _field, token in other.get("tokens", ())} for pk, other in entries.items()}
    results = []
    for profile, pks, named, terms in zip(profiles, candidate_sets, named_sets, term_sets):
        found = []
        for pk in pks:
            other = entries.get(pk)
            if other is None:
                continue
            # found under a name key: a name in common, or in common with the candidate's alias
            has_name = pk in named or not terms.isdisjoint(entry_terms[pk])
            if not has_name and not same_key(profile, other, holders):
                continue  # same birth date, no name in common: not worth comparing
            comparison = matching.compare_persons(profile, other)
            if comparison.decision != "none":
                found.append((pk, comparison))
        found.sort(key=lambda item: (-item[1].weight, item[0]))
        results.append(found[:limit])
    return results


def _toward_common(expanded):
    """The expansion of a batch's words without their misspellings
    (:func:`gru.identity.search.vocabulary.toward_common`)."""
    connection = flushed_connection()
    terms = {term for terms in expanded.values() for term in terms}
    return vocabulary.toward_common(expanded, vocabulary.holders_of(connection, terms))


def lookup_keys(profile, families, given, expanded, terms):
    """The keys under which a person finds its candidates in the index: identifiers and
    contacts; the persons born the same day who share a name term (``n:``); the
    namesakes of a compatible birth date (``q:``, :func:`_dated`)."""
    keys = _identity_keys(profile, with_birth_date=False) | _contact_keys(profile)
    if profile.get("birth_date"):
        keys.update(dated_name_token(profile["birth_date"], term) for term in terms)
    if given:
        first = given[0]
        pairs = set()
        for family in families:
            pairs.update(pair_token(left, first) for left in expanded.get(family, (family,)))
            pairs.update(pair_token(family, right) for right in expanded.get(first, (first,)))
        keys |= _dated(pairs, profile.get("birth_date"))
    return keys


def _dated(pairs, birth_date):
    """The keys under which ``pairs`` (:func:`pair_token`) find namesakes worth comparing
    with a person born on ``birth_date``: those of a compatible birth date, and those
    with none (:func:`dated_pair_tokens`); every namesake, whatever their birth date,
    when the person has none."""
    if not birth_date:
        return set(pairs)
    keys = set()
    for pair in pairs:
        keys.update(dated_pair_tokens(pair, birth_date))
        keys.update(dated_pair_tokens(pair, None))
    return keys


def _contact_keys(profile):
    keys = {phone_token(phone) for phone in profile.get("phones", ())}
    if profile.get("email"):
        keys.add(email_token(profile["email"]))
    return keys


def same_key(profile, other, holders):
    """One social-security number, or one home (a household's, not a domiciliation
    address): worth comparing even without a name in common."""
    number = profile.get("social_security_number")
    home = address_token(profile.get("address"))
    return bool(number and number == other.get("social_security_number")
                or home and home == address_token(other.get("address")) and len(holders.get(home, ())) <= HOUSEHOLD)


def name_parts(profile):
    families = names.name_tokens(profile.get("family")) + names.name_tokens(profile.get("usage"))
    return families, names.name_tokens(profile.get("given"), glue_whole=False)


def _holders(keys):
    holders = {}
    for start in range(0, len(keys), CHUNK):
        for token, party_pk in db.session.execute(select_among(
                (PartySearchToken.token, PartySearchToken.party_pk), PartySearchToken.token, keys[start:start + CHUNK])):
            holders.setdefault(token, set()).add(party_pk)
    return holders


def _profiles(pks):
    profiles = {}
    for start in range(0, len(pks), CHUNK):
        profiles.update(db.session.execute(
            select_among((PartySearchEntry.party_pk, PartySearchEntry.profile), PartySearchEntry.party_pk,
                         pks[start:start + CHUNK]).where(PartySearchEntry.kind == "person")).all())
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
            if key[:2] in SHARED_KEYS and len(block) >= HOUSEHOLD:
                continue  # a domiciliation address or a switchboard, not a household (as in match_many)
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
    families, given = name_parts(profile)
    keys = set()
    if given:
        for family in families:
            keys.update(pair_token(left, given[0]) for left in names.deletion_keys(family))
            keys.update(pair_token(family, right) for right in names.deletion_keys(given[0]))
    return keys | _identity_keys(profile) | _contact_keys(profile)


def _identity_keys(profile, with_birth_date=True):
    """The blocking keys of a person that are not names: the birth date (in a batch;
    the index is searched under dated names and pairs instead), the social-security
    number and the home, those the profile has."""
    keys = set()
    if with_birth_date and profile.get("birth_date"):
        keys.add(birth_date_token(profile["birth_date"]))
    if profile.get("social_security_number"):
        keys.add(social_security_token(profile["social_security_number"]))
    home = address_token(profile.get("address"))
    if home:
        keys.add(home)
    return keys
