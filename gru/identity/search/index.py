"""Keeping the search index in step with golden values, in the same transaction.

Each party is indexed under its own tokens (:func:`tokens_of`) and, for a person whose
name is a misspelling of a neighbour one edit away, under that neighbour's keys too
(:func:`alias_tokens`; :mod:`gru.identity.search.vocabulary` says why).

:func:`note_change` is called by value recording (:func:`gru.identity.services.values.record_values`)
for a party whose golden values changed; after the session's next flush (when the
party has its primary key) the party's rows are rewritten on the flush's connection.
The bulk path (:func:`gru.identity.services.parties.create_parties`, imports) calls
:func:`index_parties` directly. A merged or erased party leaves the index
(:func:`remove_parties`); ``gru search reindex`` rebuilds it from the golden values.
"""

from collections import Counter

from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from gru.bulk_sql import insert_rows
from gru.dbtypes import utcnow
from gru.identity import names
from gru.identity.search import vocabulary
from gru.identity.search.models import PartySearchEntry, PartySearchToken
from gru.identity.search.sql import among

_TOKENS = PartySearchToken.__table__
_ENTRIES = PartySearchEntry.__table__
_PENDING = "gru.search.pending"
MAX_TOKEN = 64

#: index field of each name attribute
NAME_FIELDS = {"family_name": "family_name", "usage_name": "usage_name", "given_names": "given_names",
               "name": "name", "legal_name": "name"}
ORGANISATION_KINDS = ("association", "company", "household")
IDENTIFIER_KEYS = ("siren", "siret", "ridet", "rna")
#: index fields whose tokens are blocking keys (whole values), not words of the vocabulary
KEY_FIELDS = ("birth_date", "pair", "dated_pair", "dated_name", "ssn", "address", "email", "phone", "alias")


def birth_date_token(birth_date):
    return "d" + birth_date.replace("-", "")


def social_security_token(number):
    return f"ssn:{number}"


#: words naming a street's kind, left out of the home key (French put them first, English last)
STREET_KINDS = frozenset((
    "rue", "r", "avenue", "av", "ave", "allee", "boulevard", "bd", "chemin", "ch", "route", "rte", "impasse",
    "place", "pl", "promenade", "quai", "cours", "square", "lotissement", "lot", "residence", "cite", "voie",
    "street", "st", "road", "rd", "crescent", "cres", "close", "court", "ct", "drive", "dr", "circuit", "way",
    "lane", "parade", "terrace", "grove", "highway",
))


def address_token(address):
    """A home: postal code, street number and the first three letters of the street's
    name, its kind left out (``12 rue Jules Ferry``, 98800: ``a:98800:12:jul``), or None
    for an address without a street number. A few persons share one (a household),
    where a postal code alone is thousands."""
    words = (address or {}).get("line", "").split()
    if not words or not words[0][:1].isdigit() or not address.get("postal_code"):
        return None
    named = [word for word in words[1:] if word not in STREET_KINDS] or words[1:]
    return f"a:{address['postal_code']}:{words[0]}:{''.join(named)[:3]}"[:MAX_TOKEN]


def pair_token(family, given):
    """A family-name token with the first given name, in either order: the blocking key
    of bulk matching (:mod:`gru.identity.search.bulk`), swapped names included."""
    first, second = sorted((family, given))
    return f"p:{first}:{second}"[:MAX_TOKEN]


def dated_pair_tokens(pair, birth_date):
    """The keys of bulk matching for a person with birth date ``birth_date`` (or None)
    holding the (family name, first given name) key ``pair`` (:func:`pair_token`): the
    pair with the birth year (``q:y1975:...``) and with the day and month
    (``q:m0312:...``); ``q:-:...`` without a birth date. A birth date one digit off,
    or with day and month swapped, keeps one of the two, and so does one with an
    unknown day or month; a namesake born on another date shares neither, and it could
    never reach ``possible`` but through a social-security number, an e-mail or a phone,
    which are keys of their own (:mod:`gru.identity.search.bulk`)."""
    names_part = pair[2:]
    if not birth_date:
        return [f"q:-:{names_part}"[:MAX_TOKEN]]
    year, month, day = birth_date.split("-")
    return [f"q:y{year}:{names_part}"[:MAX_TOKEN], f"q:m{month}{day}:{names_part}"[:MAX_TOKEN]]


def dated_name_token(birth_date, token):
    """A name token with the birth date (``n:19750312:martin``): the persons born that
    day who share a name, the maiden name or another given name notwithstanding."""
    return f"n:{birth_date.replace('-', '')}:{token}"[:MAX_TOKEN]


def email_token(email):
    return f"e:{email}"[:MAX_TOKEN]


def phone_token(phone):
    return f"t:{phone}"[:MAX_TOKEN]


def profile_of(kind, attributes):
    """The folded profile of a party, from its golden ``{attribute: value}``."""
    profile = {}
    if kind == "person":
        family, usage = attributes.get("family_name"), attributes.get("usage_name")
        if family:
            birth, usage_in_family = names.split_civil_name(family)
            family, usage = birth, usage or usage_in_family
        profile.update({
            "family": names.fold(family), "usage": names.fold(usage), "given": names.fold(attributes.get("given_names")),
        })
        for key in ("birth_date", "birth_place", "birth_country", "sex", "social_security_number"):
            if attributes.get(key):
                profile[key] = attributes[key]
    else:
        raw = attributes.get("legal_name") or attributes.get("name")
        profile["name"] = names.organisation_name(raw) if raw else ""
        for key in IDENTIFIER_KEYS:
            if attributes.get(key):
                profile[key] = attributes[key]
    if attributes.get("email"):
        profile["email"] = str(attributes["email"]).casefold()
    phones = [attributes[key] for key in ("mobile_phone", "landline_phone", "phone") if attributes.get(key)]
    if phones:
        profile["phones"] = phones
    address = attributes.get("postal_address")
    if isinstance(address, dict):
        profile["address"] = {
            "line": names.fold(" ".join(address.get("lines", []))),
            "postal_code": address.get("postal_code"),
            "commune": address.get("commune_insee") or names.fold(address.get("commune_name")),
        }
    return profile


def tokens_of(kind, profile):
    """``[(field, token)]`` indexed for a profile."""
    rows = []
    if kind == "person":
        for field, key in (("family_name", "family"), ("usage_name", "usage"), ("given_names", "given")):
            rows.extend((field, token[:MAX_TOKEN]) for token in names.name_tokens(profile.get(key)))
        if profile.get("birth_date"):
            rows.append(("birth_date", birth_date_token(profile["birth_date"])))
            rows.extend(("dated_name", dated_name_token(profile["birth_date"], token)) for field, token in list(rows)
                        if field in NAME_FIELDS)
        if profile.get("social_security_number"):
            rows.append(("ssn", social_security_token(profile["social_security_number"])))
        if address_token(profile.get("address")):
            rows.append(("address", address_token(profile["address"])))
        given = names.name_tokens(profile.get("given"), glue_whole=False)
        if given:
            families = names.name_tokens(profile.get("family")) + names.name_tokens(profile.get("usage"))
            for family in families:
                pair = pair_token(family, given[0])
                rows.append(("pair", pair))
                rows.extend(("dated_pair", token) for token in dated_pair_tokens(pair, profile.get("birth_date")))
        if profile.get("email"):
            rows.append(("email", email_token(profile["email"])))
        rows.extend(("phone", phone_token(phone)) for phone in profile.get("phones", ()))
    else:
        rows.extend(("name", token[:MAX_TOKEN]) for token in names.organisation_tokens(profile.get("name")))
    return list(dict.fromkeys(rows))


def note_change(party):
    """Index ``party`` again after the session's next flush (it may have no pk yet)."""
    from gru.extensions import db

    db.session.info.setdefault(_PENDING, {})[id(party)] = party


def alias_tokens(profile, aliases):
    """``[("alias", token)]``: the keys of bulk matching a person's profile would have
    with each misspelt name term replaced by one of its common forms
    (``aliases``: ``{term: (neighbours)}``, :func:`gru.identity.search.vocabulary.more_common`):
    the pairs with the first given name, dated, and the names with the birth date. A
    field of their own: the search reads pairs as the parties hold them."""
    families = names.name_tokens(profile.get("family")) + names.name_tokens(profile.get("usage"))
    given = names.name_tokens(profile.get("given"), glue_whole=False)
    birth_date = profile.get("birth_date")
    tokens = []
    if birth_date:
        tokens.extend(dated_name_token(birth_date, alias)
                      for term in dict.fromkeys(families + given) for alias in aliases.get(term, ()))
    if given:
        first, pairs = given[0], []
        for family in families:
            pairs.extend(pair_token(alias, first) for alias in aliases.get(family, ()))
            pairs.extend(pair_token(family, alias) for alias in aliases.get(first, ()))
        for pair in dict.fromkeys(pairs):
            tokens.append(pair)
            tokens.extend(dated_pair_tokens(pair, birth_date))
    return [("alias", token) for token in dict.fromkeys(tokens)]


def index_parties(connection, items, is_new=False, profiles=None, aliases=None, tokens=None):
    """Rewrite the index rows of ``[(party_pk, kind, golden attributes)]`` (``is_new``:
    parties created in this transaction, which have no rows yet; ``profiles``: their
    :func:`profile_of`, and ``tokens``: the :func:`tokens_of` of those profiles (None for
    one not known), when the caller has them already; ``aliases``: the common
    forms of their misspelt name terms (:func:`gru.identity.search.vocabulary.more_common`),
    when the caller knows them better than the vocabulary does: an initial load knows
    its whole file's). Keeps the vocabulary and its counts of holders."""
    if not items:
        return
    changes = Counter()
    if not is_new:
        changes.subtract(_remove_rows(connection, [pk for pk, _kind, _attributes in items]))
    indexed, person_terms = [], set()
    for index, (pk, kind, attributes) in enumerate(items):
        profile = dict(profiles[index]) if profiles is not None else profile_of(kind, attributes)
        known = tokens[index] if tokens is not None else None
        own_tokens = known if known is not None else tokens_of(kind, profile)
        # kept with the profile, so that re-ranking does not tokenise every candidate again
        profile["tokens"] = [[field, token] for field, token in own_tokens if field not in KEY_FIELDS]
        own = {token for _field, token in profile["tokens"]}
        changes.update(own)
        if kind == "person":
            person_terms |= own
        indexed.append((pk, kind, profile, own_tokens))
    vocabulary.add_terms(connection, [term for term, change in changes.items() if change > 0])
    vocabulary.count_holders(connection, changes)
    if aliases is None and person_terms:
        expanded = vocabulary.expand(sorted(person_terms), connection)
        aliases = vocabulary.more_common(
            expanded, vocabulary.holders_of(connection, {term for terms in expanded.values() for term in terms}))
    now = utcnow()
    token_rows, entry_rows = [], []
    for pk, kind, profile, party_tokens in indexed:
        if kind == "person" and aliases:
            party_tokens = party_tokens + alias_tokens(profile, aliases)
        token_rows.extend({"party_pk": pk, "field": field, "token": token} for field, token in party_tokens)
        entry_rows.append({"party_pk": pk, "kind": kind, "profile": profile, "is_dedup_pending": True,
                           "indexed_at": now})
    insert_rows(connection, _ENTRIES, entry_rows)
    # in the order of the index's primary key (token first): the rows of a batch then
    # land side by side in its btree instead of one page each (measured: an import of
    # 58,861 lines 675 -> 790 lines/s, the term keys sorted too: 821)
    token_rows.sort(key=lambda row: row["token"])
    insert_rows(connection, _TOKENS, token_rows)


def remove_parties(connection, pks):
    """Take the parties ``pks`` out of the index (a merged party), and their names out
    of the vocabulary's counts."""
    removed = _remove_rows(connection, pks)
    removed = {term: -holders for term, holders in removed.items()}
    vocabulary.count_holders(connection, removed)


def _remove_rows(connection, pks):
    """Delete the index rows of the parties ``pks``; returns ``{term: parties that held it}``."""
    held = set()
    for start in range(0, len(pks), 5000):
        chunk = pks[start:start + 5000]
        removed = connection.execute(delete(_TOKENS).where(among(_TOKENS.c.party_pk, chunk))
                                     .returning(_TOKENS.c.party_pk, _TOKENS.c.token, _TOKENS.c.field))
        held.update((party_pk, token) for party_pk, token, field in removed if field not in KEY_FIELDS)
        connection.execute(delete(_ENTRIES).where(among(_ENTRIES.c.party_pk, chunk)))
    return Counter(token for _party_pk, token in held)


def _golden_of(party):
    return {golden.attribute_key: golden.value.value for golden in party.golden if golden.value.value is not None}


@event.listens_for(Session, "after_flush")
def _index_after_flush(session, _flush_context):
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    items = [(party.pk, party.kind, _golden_of(party)) for party in pending.values()
             if party.pk is not None and party.status == "active"]
    index_parties(session.connection(), items)


def rebuild(batch_size=2000):
    """Index every active party again from its golden values (``gru search reindex``);
    returns the number of parties indexed. The vocabulary's counts are taken again from
    the index first, so that the alias keys written are those of its holders."""
    from gru.extensions import db
    from gru.identity.models import AttributeValue, GoldenValue, Party

    connection = db.session.connection()
    vocabulary.recount(connection, KEY_FIELDS)
    last, count = 0, 0
    while True:
        parties = connection.execute(
            select(Party.pk, Party.kind).where(Party.pk > last, Party.status == "active")
            .order_by(Party.pk).limit(batch_size)).all()
        if not parties:
            return count
        pks = [pk for pk, _kind in parties]
        golden = {pk: {} for pk in pks}
        for party_pk, key, value in connection.execute(
                select(GoldenValue.party_pk, GoldenValue.attribute_key, AttributeValue.value)
                .join(AttributeValue, AttributeValue.pk == GoldenValue.value_pk)
                .where(GoldenValue.party_pk.in_(pks))):
            if value is not None:
                golden[party_pk][key] = value
        index_parties(connection, [(pk, kind, golden[pk]) for pk, kind in parties])
        count += len(parties)
        last = pks[-1]
