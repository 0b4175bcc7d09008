"""``consent.given`` and ``consent.withdrawn`` reach the applications that subscribe to them
and may read consents, through the connectors (outbox, then the delivery loop)."""

from sqlalchemy import select

from gru.connectors.models import Delivery
from gru.connectors.null import NullConnector
from gru.consent.services import ConsentActor, ConsentRequest, record_consent
from gru.extensions import db
from tests.connectors.conftest import _forget_null_messages, clock, contract, dispatcher, make_instance, tokens  # noqa: F401
from tests.connectors.test_scim import scim, scim_instance  # noqa: F401
from tests.factories.identity import make_party

AGENT = ConsentActor(type="agent", id="marie")
EVENTS = ["consent.given", "consent.withdrawn"]


def _statuses(instance):
    return [delivery.status for delivery in db.session.scalars(
        select(Delivery).where(Delivery.instance_pk == instance.pk).order_by(Delivery.pk))]


def test_consent_events_are_delivered_to_who_may_read_consents(make_instance, dispatcher, newsletter):
    reader = make_instance("null", code="ccas", contract_document={**contract(events=EVENTS), "consents": ["read"]})
    blind = make_instance("null", code="caf", contract_document={**contract(events=EVENTS), "consents": []})
    person = make_party()
    record_consent(person.id, ConsentRequest("newsletter", "given", "desk", "newsletter-v1"), AGENT)
    record_consent(person.id, ConsentRequest("newsletter", "withdrawn", "phone", "newsletter-v1"), AGENT)
    record_consent(person.id, ConsentRequest("newsletter", "given", "desk", "newsletter-v1", application="caf"), AGENT)
    db.session.commit()
    dispatcher.drain()

    messages = NullConnector.sent[reader.name]
    assert [message.type for message in messages] == EVENTS  # not the consent limited to the CAF
    assert messages[1].payload["consent"]["state"] == "withdrawn"
    assert messages[1].payload["consent"]["purpose"] == "newsletter"
    assert messages[1].payload["party"]["id"] == str(person.id)
    assert _statuses(reader) == ["delivered", "delivered", "skipped"]
    assert NullConnector.sent[blind.name] == [] and set(_statuses(blind)) == {"skipped"}


def test_the_event_types_are_listed_for_contracts():
    from gru.events.services import EVENT_TYPES

    assert {"consent.given", "consent.withdrawn"} <= set(EVENT_TYPES)


def test_the_scim_connector_skips_consent_events(scim_instance, scim, dispatcher, newsletter):
    instance = scim_instance({**contract(events=["party.created", *EVENTS]), "consents": ["read"]})
    person = make_party()
    db.session.commit()
    dispatcher.drain()
    scim.app.calls.clear()
    record_consent(person.id, ConsentRequest("newsletter", "given", "desk", "newsletter-v1"), AGENT)
    db.session.commit()
    dispatcher.drain()
    assert scim.app.calls == []  # SCIM has no resource for a consent
    assert _statuses(instance) == ["delivered", "skipped"]
