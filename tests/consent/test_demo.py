"""``gru demo``'s consent part: the purposes of a city's register and a demo person's consent, once."""

from gru.consent.demo import load_demo_consents
from gru.consent.services import ConsentActor, current_consents, list_purposes
from gru.identity.demo import load_demo_data
from gru.identity.services.parties import list_parties


def test_demo_purposes_and_consent_load_once(empty_app):
    load_demo_data()
    assert load_demo_consents() == 4
    assert load_demo_consents() == 0
    assert {(purpose.code, purpose.lawful_basis) for purpose in list_purposes()} == {
        ("newsletter", "consent"), ("sms_reminders", "consent"), ("school_canteen", "public_task")}
    (subscriber,), _ = list_parties(xref="demo:person-1", limit=1)
    _, consents = current_consents(subscriber.id, ConsentActor(type="agent", id="tests"))
    assert [(item.purpose_code, item.state, item.channel) for item in consents] == [("newsletter", "given", "desk")]


def test_without_the_identity_demo_only_the_purposes_load(empty_app):
    assert load_demo_consents() == 3
