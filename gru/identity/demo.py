"""Demo data for ``gru demo``: four households, an association and a company.

Everything is created through the identity services, by the agent "demo", and each party
gets the cross-reference ("demo", <local id>) so that a second load can tell the data is
already there. The caller commits. All names, numbers and addresses are made up; e-mail
addresses use the example.nc / example.fr domains only.
"""

from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.links import create_link
from gru.identity.services.parties import create_party, list_parties
from gru.identity.services.references import add_cross_reference, add_identifier

DEMO_APPLICATION = "demo"
DEMO_ACTOR = Actor(type="agent", id="demo")

NOUMEA = {"postal_code": "98800", "commune_insee": "98818"}
DUMBEA = {"postal_code": "98830", "commune_insee": "98805"}
DUMBEA_KOUTIO = {"postal_code": "98835", "commune_insee": "98805"}

# Birth places: INSEE commune codes (NC 988xx, Wallis-et-Futuna 986xx, French Polynesia
# 987xx, metropolitan France); people born abroad get a birth_country (99xxx) instead.
NOUMEA_INSEE, LIFOU_INSEE, KONE_INSEE = "98818", "98814", "98811"
UVEA_INSEE, PAPEETE_INSEE, LYON_INSEE = "98613", "98735", "69123"
VIETNAM_COUNTRY = "99243"

#: Each household: its local id, how its members' data was proven (channel, process),
#: its attributes and its members (local id, role, attributes).
HOUSEHOLDS = [
    {
        "ref": "household-1",
        "provenance": ("desk", "original_document_checked"),
        "attributes": {
            "name": "Foyer Tein",
            "postal_address": {"lines": ["12 rue Jean Jaurès"], **NOUMEA},
        },
        "members": [
            ("person-1", "head", {
                "family_name": "Tein", "given_names": "Jean-Marc Wapae", "sex": "M",
                "birth_date": "1978-04-12", "birth_place": KONE_INSEE,
                "email": "jean-marc.tein@example.nc", "mobile_phone": "+687 78 12 34",
                "landline_phone": "+687 26 14 35",
            }),
            ("person-2", "partner", {
                "family_name": "Nakamura", "usage_name": "Tein", "given_names": "Aiko Élise",
                "sex": "F", "birth_date": "1981-09-03", "birth_place": NOUMEA_INSEE,
                "email": "aiko.tein@example.nc", "mobile_phone": "+687 91 45 67",
            }),
            ("person-3", "child", {
                "family_name": "Tein", "given_names": "Kylian", "sex": "M",
                "birth_date": "2010-02-17", "birth_place": NOUMEA_INSEE,
            }),
            ("person-4", "child", {
                "family_name": "Tein", "given_names": "Maëva Naoko", "sex": "F",
                "birth_date": "2014-11-30", "birth_place": NOUMEA_INSEE,
            }),
        ],
    },
    {
        "ref": "household-2",
        "provenance": ("online", "declared"),
        "attributes": {
            "name": "Foyer Tuihalamaka",
            "postal_address": {
                "lines": ["Résidence Les Flamboyants", "7 rue Guynemer", "Vallée des Colons"],
                **NOUMEA,
            },
        },
        "members": [
            ("person-5", "head", {
                "family_name": "Tuihalamaka", "given_names": "Soane Petelo", "sex": "M",
                "birth_date": "1975-06-21", "birth_place": UVEA_INSEE,
                "email": "soane.tuihalamaka@example.nc", "mobile_phone": "+687 84 22 10",
            }),
            ("person-6", "partner", {
                "family_name": "Vaimua", "usage_name": "Tuihalamaka", "given_names": "Malia",
                "sex": "F", "birth_date": "1979-01-08", "birth_place": NOUMEA_INSEE,
                "email": "malia.tuihalamaka@example.nc", "mobile_phone": "+687 75 31 08",
                "landline_phone": "+687 28 73 19",
            }),
            ("person-7", "child", {
                "family_name": "Tuihalamaka", "given_names": "Petelo", "sex": "M",
                "birth_date": "2006-08-15", "birth_place": NOUMEA_INSEE,
                "email": "petelo.tuihalamaka@example.nc",
            }),
            ("person-8", "child", {
                "family_name": "Tuihalamaka", "given_names": "Losa Sesilia", "sex": "F",
                "birth_date": "2012-03-27", "birth_place": NOUMEA_INSEE,
            }),
        ],
    },
    {
        "ref": "household-3",
        "provenance": ("desk", "declared"),
        "attributes": {
            "name": "Foyer Kaloi",
            "postal_address": {"lines": ["Lotissement Koutio", "14 rue des Niaoulis"], **DUMBEA_KOUTIO},
        },
        "members": [
            # An elder born in Lifou whose day and month of birth are unknown (INSEE "00").
            ("person-9", "head", {
                "family_name": "Kaloi", "given_names": "Louis", "sex": "M",
                "birth_date": "1952-00-00", "birth_place": LIFOU_INSEE,
                "landline_phone": "+687 41 22 88",
            }),
            ("person-10", "partner", {
                "family_name": "Wéa", "usage_name": "Kaloi", "given_names": "Madeleine Hnaeja",
                "sex": "F", "birth_date": "1956-03-08", "birth_place": LIFOU_INSEE,
                "mobile_phone": "+687 97 60 42",
            }),
            ("person-11", "child", {
                "family_name": "Kaloi", "given_names": "Gérard", "sex": "M",
                "birth_date": "1980-10-02", "birth_place": NOUMEA_INSEE,
                "email": "gerard.kaloi@example.nc", "mobile_phone": "+687 79 14 53",
            }),
        ],
    },
    {
        "ref": "household-4",
        "provenance": ("online", "declared"),
        "attributes": {
            "name": "Foyer Martin",
            "postal_address": {"lines": ["Dumbéa-sur-Mer", "21 rue des Bancouliers"], **DUMBEA},
        },
        "members": [
            ("person-12", "head", {
                "family_name": "Martin", "given_names": "Thomas Pierre", "sex": "M",
                "birth_date": "1985-05-19", "birth_place": LYON_INSEE,
                "email": "thomas.martin@example.fr", "mobile_phone": "+687 78 56 02",
            }),
            ("person-13", "partner", {
                "family_name": "Teriitehau", "given_names": "Vaea", "sex": "F",
                "birth_date": "1988-12-11", "birth_place": PAPEETE_INSEE,
                "email": "vaea.teriitehau@example.nc", "mobile_phone": "+687 92 18 47",
            }),
            ("person-14", "child", {
                "family_name": "Martin", "given_names": "Léo Teiki", "sex": "M",
                "birth_date": "2019-07-04", "birth_place": NOUMEA_INSEE,
            }),
        ],
    },
]

#: A person who belongs to none of the demo households: the association's president,
#: born in Vietnam (birth country, no birth commune).
OTHER_PERSONS = [
    {
        "ref": "person-15",
        "provenance": ("desk", "declared"),
        "attributes": {
            "family_name": "Nguyen", "given_names": "Van Minh", "sex": "M",
            "birth_date": "1963-02-14", "birth_country": VIETNAM_COUNTRY,
            "email": "minh.nguyen@example.nc", "mobile_phone": "+687 77 40 91",
            "postal_address": {"lines": ["5 rue Gervolino", "Rivière-Salée"], **NOUMEA},
        },
    },
]

#: Organisations: kind, attributes, identifier and the person who represents them.
ORGANISATIONS = [
    {
        "ref": "association-1",
        "kind": "association",
        "provenance": ("desk", "declared"),
        "attributes": {
            "name": "Association sportive de Rivière-Salée",
            "rna": "W988004217",
            "postal_address": {"lines": ["Maison de quartier", "rue Gervolino", "Rivière-Salée"], **NOUMEA},
            "email": "contact@as-riviere-salee.example.nc",
        },
        "identifier": ("rna", "W988004217"),
        "representative": ("person-15", "president"),
    },
    {
        "ref": "company-1",
        "kind": "company",
        "provenance": ("desk", "official_proof_scan_checked"),
        "attributes": {
            "legal_name": "Transports Kaloi SARL",
            "ridet": "1023456.001",
            "legal_form": "SARL",
            "postal_address": {"lines": ["Zone industrielle de Panda", "Lot 12"], **DUMBEA},
            "email": "contact@transports-kaloi.example.nc",
            "phone": "+687 43 18 21",
        },
        "identifier": ("ridet", "1023456.001"),
        "representative": ("person-11", "manager"),
    },
]


def _create(ref, kind, attributes, channel, process, created):
    """Create one party with its demo cross-reference; remember it under ``ref``."""
    party, _ = create_party(kind, attributes, make_provenance(channel, process), DEMO_ACTOR)
    add_cross_reference(party.id, DEMO_APPLICATION, ref, channel, DEMO_ACTOR)
    created[ref] = party
    return party


def demo_data_loaded():
    parties, _ = list_parties(xref=f"{DEMO_APPLICATION}:{HOUSEHOLDS[0]['ref']}", limit=1)
    return bool(parties)


def load_demo_data() -> int:
    """Create the demo parties (once) and return how many were created; 0 if already there."""
    if demo_data_loaded():
        return 0
    created = {}
    for household in HOUSEHOLDS:
        channel, process = household["provenance"]
        home = _create(household["ref"], "household", household["attributes"], channel, process, created)
        for ref, role, attributes in household["members"]:
            person = _create(ref, "person", attributes, channel, process, created)
            create_link(person_id=person.id, kind="member_of", target_id=home.id, role=role,
                        channel=channel, actor=DEMO_ACTOR)
    for person in OTHER_PERSONS:
        _create(person["ref"], "person", person["attributes"], *person["provenance"], created)
    for organisation in ORGANISATIONS:
        channel, process = organisation["provenance"]
        party = _create(organisation["ref"], organisation["kind"], organisation["attributes"],
                        channel, process, created)
        add_identifier(party.id, *organisation["identifier"], channel, DEMO_ACTOR)
        person_ref, role = organisation["representative"]
        create_link(person_id=created[person_ref].id, kind="represents", target_id=party.id, role=role,
                    channel=channel, actor=DEMO_ACTOR)
    return len(created)


__all__ = ["load_demo_data", "demo_data_loaded"]
