"""Fault tests with real HTTP receivers on 127.0.0.1 (the issue's list; the SIGKILL one is
in test_worker.py). "Down for a day" moves the dispatcher's clock instead of sleeping."""

import time

from sqlalchemy import select

from gru.connectors.models import Delivery
from gru.extensions import db
from gru.identity.services.context import make_provenance
from gru.identity.services.parties import update_party
from tests.connectors.receivers import Receiver
from tests.factories.identity import DESK_AGENT, make_party


def _moves(party, count):
    for number in range(count):
        update_party(party.id, "*", {"postal_address": {"lines": [f"{number + 1} rue Jean Jaurès"],
                                                        "postal_code": "98800"}},
                     make_provenance("desk", "declared"), DESK_AGENT)
    db.session.commit()


def _statuses():
    return [status for (status,) in db.session.execute(select(Delivery.status).order_by(Delivery.pk))]


def test_a_receiver_down_for_a_day_gets_every_event_in_order_none_applied_twice(
        make_instance, webhook_config, receiver, dispatcher, clock, db_session):
    make_instance("webhook", config=webhook_config())
    first, second = make_party(), make_party()
    _moves(first, 3)
    _moves(second, 2)
    receiver.behaviour.status = 503
    dispatcher.drain()
    elapsed = 0
    while elapsed < 24 * 60:  # a day passes, the worker trying now and then
        clock.advance(minutes=20)
        elapsed += 20
        dispatcher.drain()
    tries_while_down = len(receiver.requests)
    assert receiver.applied == [] and set(_statuses()) <= {"pending", "retrying"}
    assert tries_while_down < 2 * 24 * 3  # backoff: no storm, at most about one try per 20-minute step
    # Back up, but the first answer after applying is lost (a 500 after the change was
    # made): the hub sends that event again and the receiver drops it by its id.
    receiver.behaviour.status = 200
    receiver.behaviour.apply_then_status = 500
    clock.advance(hours=1)
    dispatcher.drain()
    receiver.behaviour.apply_then_status = None
    for _ in range(10):
        clock.advance(hours=1)
        dispatcher.drain()
    assert set(_statuses()) == {"delivered"}
    for party, count in ((first, 4), (second, 3)):
        sequences = [int(event["sequence"]) for event in receiver.applied if event["subject"] == str(party.id)]
        assert sequences == list(range(1, count + 1))
    ids = [event["id"] for event in receiver.applied]
    assert len(ids) == len(set(ids)) == 7
    assert len(receiver.requests) > tries_while_down + 7  # the lost answers were retried


def test_a_receiver_answering_400_dead_letters_without_retry_storm(make_instance, webhook_config, receiver,
                                                                   dispatcher, clock, db_session):
    make_instance("webhook", config=webhook_config())
    for _ in range(3):
        make_party()
    db.session.commit()
    receiver.behaviour.status = 400
    dispatcher.drain()
    clock.advance(hours=5)
    dispatcher.drain()
    assert len(receiver.requests) == 3  # one try each, never again
    assert _statuses() == ["dead"] * 3


def test_429_honours_retry_after(make_instance, webhook_config, receiver, dispatcher, clock, db_session):
    make_instance("webhook", config=webhook_config())
    make_party()
    db.session.commit()
    receiver.behaviour.status = 429
    receiver.behaviour.headers = {"Retry-After": "7200"}
    dispatcher.drain()
    (delivery,) = db.session.scalars(select(Delivery))
    assert delivery.status == "retrying"
    assert (delivery.next_attempt_at - clock.now).total_seconds() >= 7190
    receiver.behaviour.status, receiver.behaviour.headers = 200, {}
    clock.advance(minutes=30)
    dispatcher.drain()
    assert receiver.applied == []
    clock.advance(hours=2)
    dispatcher.drain()
    assert len(receiver.applied) == 1


def test_a_slow_receiver_does_not_block_the_others(make_instance, webhook_config, receiver, tokens, dispatcher,
                                                   db_session):
    slow = Receiver(tokens)
    try:
        slow.behaviour.delay = 2.0
        make_instance("webhook", config=webhook_config(url=slow.url), name="slow")
        make_instance("webhook", config=webhook_config(), name="fast")
        for _ in range(6):
            make_party()
        db.session.commit()
        started = time.monotonic()
        while len(receiver.applied) < 6 and time.monotonic() - started < 10:
            dispatcher.step()
            dispatcher.wait(0.05)
        fast_done = time.monotonic() - started
        assert len(receiver.applied) == 6
        assert fast_done < 2.0  # before the slow receiver answered even once
        dispatcher.drain()
        assert len(slow.applied) == 6
    finally:
        slow.stop()


def test_a_rolled_back_change_sends_nothing_over_http(make_instance, webhook_config, receiver, dispatcher,
                                                      db_session):
    make_instance("webhook", config=webhook_config())
    savepoint = db.session.begin_nested()
    make_party()
    savepoint.rollback()
    db.session.commit()
    dispatcher.drain()
    assert receiver.requests == []


def test_sends_whose_outcome_could_not_be_recorded_are_recorded_at_the_next_step(
        make_instance, webhook_config, receiver, dispatcher, db_session, monkeypatch):
    """The database refuses one transaction (SQLite busy past its timeout, a PostgreSQL
    fail-over): the sends it was recording happened, so the next step records them, and
    nothing is sent twice nor left leased until the lease lapses. The refusal is injected
    (a real one cannot be timed to fall on that transaction)."""
    from sqlalchemy.exc import OperationalError

    from gru.connectors import dispatch

    make_instance("webhook", config=webhook_config())
    make_party(), make_party()
    db.session.commit()
    record_outcomes, refused = dispatch.record_outcomes, []

    def refused_once(results, **kwargs):
        if not refused:
            refused.append(len(results))
            raise OperationalError("UPDATE deliveries ...", {}, Exception("database is locked"))
        return record_outcomes(results, **kwargs)

    monkeypatch.setattr(dispatch, "record_outcomes", refused_once)
    deadline = time.monotonic() + 10
    while not refused and time.monotonic() < deadline:
        try:
            dispatcher.step()
        except OperationalError:
            break
        dispatcher.wait(0.1)
    assert refused, "the sends never finished"
    dispatcher.drain()  # the same clock: no lease has lapsed
    assert _statuses() == ["delivered", "delivered"]
    assert len(receiver.requests) == 2 and len(receiver.applied) == 2
