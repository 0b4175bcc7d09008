from gru.identity.services.context import Actor, make_provenance
from gru.identity.services.parties import create_party

DESK_AGENT = Actor(type="agent", id="agent-test")

PERSON = {
    "family_name": "Wamytan",
    "given_names": "Élise Marie",
    "sex": "F",
    "birth_date": "1987-03-14",
    "birth_place": "98818",
}


def make_party(kind="person", attributes=None, process="declared", channel="desk", actor=DESK_AGENT):
    attributes = dict(PERSON if attributes is None and kind == "person" else attributes or {})
    party, _ = create_party(kind, attributes, make_provenance(channel, process), actor)
    return party
