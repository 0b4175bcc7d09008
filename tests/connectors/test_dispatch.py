"""Fan-out, ordering, retries with backoff, dead letters, replay and status (null connector)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gru.audit.models import JournalEntry
from gru.connectors import dispatch
from gru.connectors.base import Outcome
from gru.connectors.models import Delivery
from gru.connectors.null import NullConnector
from gru.errors import ValidationFailed
from gru.extensions import db
from gru.identity.services.context import make_provenance
from gru.identity.services.parties import update_party
from tests.connectors.conftest import contract
from tests.factories.identity import DESK_AGENT, make_party


def _deliveries(instance):
    return list(db.session.scalars(select(Delivery).where(Delivery.instance_pk == instance.pk)
                                   .order_by(Delivery.pk)))


def _move(party, address_line="12 rue Jean Jaurès"):
    update_party(party.id, "*", {"postal_address": {"lines": [address_line], "postal_code": "98800"}},
                 make_provenance("desk", "declared"), DESK_AGENT)


def test_one_delivery_per_subscribing_instance(make_instance, db_session):
    first = make_instance("null")
    second = make_instance("null", contract_document=contract(events=["party.updated"]))
    disabled = make_instance("null", is_enabled=False)
    party = make_party()
    _move(party)
    assert [d.sequence for d in _deliveries(first)] == [1, 2]
    assert [d.sequence for d in _deliveries(second)] == [2]
    assert _deliveries(disabled) == []


def test_party_kinds_outside_the_contract_are_not_fanned_out(make_instance, db_session):
    instance = make_instance("null", contract_document=contract(kinds=["company"]))
    make_party()
    assert _deliveries(instance) == []


def test_a_rolled_back_change_sends_nothing(make_instance, dispatcher, db_session):
    instance = make_instance("null")
    savepoint = db.session.begin_nested()
    _move(make_party())
    savepoint.rollback()
    assert _deliveries(instance) == []
    dispatcher.drain()
    assert NullConnector.sent[instance.name] == []


def test_payload_is_filtered_by_the_contract_and_names_the_own_cross_reference(make_instance, dispatcher,
                                                                                db_session):
    instance = make_instance("null", code="caf", contract_document=contract(attributes=["postal_address", "family_name"]))
    party = make_party()
    from gru.identity.services.context import Actor
    from gru.identity.services.references import add_cross_reference

    add_cross_reference(party.id, "caf", "CAF-42", "application", Actor("application", "caf"))
    add_cross_reference(party.id, "other", "O-1", "desk", DESK_AGENT)
    _move(party)
    db.session.commit()
    dispatcher.drain()
    messages = NullConnector.sent[instance.name]
    assert [m.type for m in messages] == ["party.created", "xref.changed", "party.updated"]
    updated = messages[-1].payload
    assert updated["changed"] == ["postal_address"]
    assert set(updated["party"]["attributes"]) == {"postal_address", "family_name"}
    assert updated["party"]["local_id"] == "CAF-42" and messages[-1].local_id == "CAF-42"
    assert "given_names" not in str(updated)
    statuses = {d.sequence: d.status for d in _deliveries(instance)}
    # the other application's cross-reference is nothing this one may see: skipped
    assert statuses == {1: "delivered", 2: "delivered", 3: "skipped", 4: "delivered"}


def test_nothing_is_sent_when_nothing_readable_changed(make_instance, dispatcher, db_session):
    instance = make_instance("null", contract_document=contract(attributes=["email"]))
    _move(make_party())
    db.session.commit()
    dispatcher.drain()
    assert NullConnector.sent[instance.name] == []
    assert {d.status for d in _deliveries(instance)} == {"skipped"}


def test_each_send_is_journaled_as_the_hub_on_behalf_of_the_application(make_instance, dispatcher, db_session):
    instance = make_instance("null", code="mairie", contract_document=contract(attributes=["postal_address"]))
    party = make_party()
    _move(party)
    db.session.commit()
    dispatcher.drain()
    (entry,) = db.session.scalars(select(JournalEntry).where(JournalEntry.action == "connectors:delivery:send"))
    assert (entry.actor_type, entry.actor_id) == ("application", "gru-hub")
    assert entry.on_behalf_of == f"application:mairie/connector:{instance.name}"
    assert entry.party_id == str(party.id) and entry.attribute_keys == ["postal_address"]
    assert entry.purpose == "notify"


def test_events_of_a_party_are_sent_in_sequence_order(make_instance, dispatcher, clock, db_session,
                                                     monkeypatch):
    instance = make_instance("null")
    party, other = make_party(), make_party()
    for line in ("1 rue A", "2 rue B", "3 rue C"):
        _move(party, line)
    db.session.commit()
    calls = []
    original = NullConnector.deliver
    party_id, other_id = str(party.id), str(other.id)  # the sends run in threads: no ORM there

    def flaky(self, message):
        calls.append((message.party_id, message.sequence))
        if message.party_id == party_id and message.sequence == 2 and calls.count((message.party_id, 2)) == 1:
            return Outcome.retry("first try of 2 fails")
        return original(self, message)

    monkeypatch.setattr(NullConnector, "deliver", flaky)
    dispatcher.drain()
    sent = [m.sequence for m in NullConnector.sent[instance.name] if m.party_id == party_id]
    assert sent == [1]  # 2 waits for its retry; 3 and 4 wait for 2
    assert [m.party_id for m in NullConnector.sent[instance.name]].count(other_id) == 1
    clock.advance(hours=1)
    dispatcher.drain()
    sent = [m.sequence for m in NullConnector.sent[instance.name] if m.party_id == party_id]
    assert sent == [1, 2, 3, 4]


def test_retry_backoff_grows_with_jitter_then_dead_past_the_horizon(make_instance, dispatcher, clock, db_session,
                                                                    app):
    instance = make_instance("null", config={"fail_with": "retry"})
    make_party()
    db.session.commit()
    delays = []
    for _ in range(300):
        dispatcher.drain()
        (delivery,) = _deliveries(instance)
        db.session.refresh(delivery)
        if delivery.status == "dead":
            break
        delays.append((delivery.next_attempt_at - clock.now).total_seconds())
        clock.now = delivery.next_attempt_at
    assert delivery.status == "dead" and "past the horizon" in delivery.last_error
    assert delivery.attempts == len(delays) + 1
    base = app.config["GRU_CONNECTORS_BACKOFF_BASE"]
    for attempt, delay in enumerate(delays[:8], start=1):
        full = min(3600, base * 2 ** (attempt - 1))
        assert full / 2 <= delay <= full
    assert max(delays) <= 3600
    horizon = app.config["GRU_CONNECTORS_RETRY_HORIZON"]
    assert clock.now <= delivery.created_at + timedelta(seconds=horizon)


def test_a_failure_is_dead_at_once_and_replayed_one_by_one_or_in_bulk(make_instance, dispatcher, db_session):
    instance = make_instance("null", config={"fail_with": "failed"})
    make_party()
    make_party()
    db.session.commit()
    dispatcher.drain()
    first, second = _deliveries(instance)
    assert (first.status, first.attempts, second.status) == ("dead", 1, "dead")
    from gru.connectors import services

    services.update_instance(instance.name, config={})
    dispatch.replay_delivery(first.id)
    db.session.commit()
    dispatcher.drain()
    db.session.refresh(first), db.session.refresh(second)
    assert (first.status, first.attempts, second.status) == ("delivered", 2, "dead")
    assert dispatch.replay_dead(instance.name) == 1
    db.session.commit()
    dispatcher.drain()
    db.session.refresh(second)
    assert second.status == "delivered"
    with pytest.raises(ValidationFailed) as refused:
        dispatch.replay_delivery(second.id)
    assert "Only dead deliveries" in refused.value.errors["status"][0]


def test_status_per_instance_and_per_party(make_instance, dispatcher, clock, db_session):
    instance = make_instance("null", config={"fail_with": "retry"})
    party = make_party()
    db.session.commit()
    dispatcher.drain()
    clock.advance(minutes=5)
    (row,) = [item for item in dispatch.instance_status(now=clock.now) if item["name"] == instance.name]
    assert row["deliveries"]["retrying"] == 1 and row["lag_seconds"] >= 300
    ((delivery, type_),) = dispatch.party_status(party.id)
    document = dispatch.delivery_document(delivery, type_)
    assert (document["status"], document["attempts"], document["event_type"]) == ("retrying", 1, "party.created")
    assert "null connector configured to fail" in document["last_error"]


def test_claims_are_leased_so_a_second_claim_finds_nothing(make_instance, clock, db_session):
    make_instance("null")
    make_party()
    db.session.commit()
    assert len(dispatch.claim(10, now=clock.now)) == 1
    assert dispatch.claim(10, now=clock.now) == []
    clock.advance(seconds=dispatch.lease_seconds() + 1)  # the worker died: the lease lapses
    assert len(dispatch.claim(10, now=clock.now)) == 1
    assert db.session.scalar(select(func.max(Delivery.attempts))) == 2
