"""Deliveries: fan-out of events, claiming, outcomes, backoff, dead letters, replay.

Rules implemented here:

- **Fan-out in the change's transaction** (outbox): :func:`fan_out` listens to recorded
  events (:func:`gru.events.services.on_events_recorded`) and inserts one delivery per
  enabled instance whose application's contract subscribes to the event type and covers
  the party's kind. A rolled-back change leaves neither event nor delivery.
- **Claiming** (:func:`claim`): due deliveries are leased to one worker for
  :func:`lease_seconds`; on PostgreSQL the candidates are locked with ``SELECT ... FOR
  UPDATE SKIP LOCKED``, so several workers share the work without waiting on each other;
  SQLite's single writer serialises claims. A killed worker's leases lapse and its
  deliveries are sent again (at least once; receivers drop duplicates by event id).
- **Order per (party, instance)**: a delivery is claimable only when no delivery of an
  earlier event of the same party to the same instance is still open (pending or
  retrying): a later event is never sent before an earlier one is delivered, skipped or
  dead.
- **Retries** (:func:`record_outcomes`): network errors, timeouts, 5xx and 429 are retried
  after an exponential backoff with jitter (half the delay fixed, half random: AWS
  Architecture Blog, "Exponential Backoff And Jitter"), never sooner than ``Retry-After``,
  until ``expires_at`` (``GRU_CONNECTORS_RETRY_HORIZON`` after the event); then the
  delivery is dead. Other 4xx are dead at once. Dead letters stay and can be replayed.
"""

import random
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from gru.audit.journal import record_accesses
from gru.auth.contracts import contract_view, current_contract
from gru.auth.models import Application, ServiceContract
from gru.connectors.base import DELIVERED, REMOVE, RETRY, SKIPPED, Message
from gru.connectors.models import OPEN_STATUSES, ConnectorInstance, Delivery
from gru.connectors.payloads import build_payload
from gru.dbtypes import utcnow
from gru.extensions import db
from gru.identity.models import CrossReference, Party

#: longest wait between two tries of one delivery, whatever the attempt number
MAX_BACKOFF_SECONDS = 3600
#: the journal's actor for a delivery: the hub, on behalf of the connector instance
HUB_ACTOR = "gru-hub"
JOURNAL_ACTION = "connectors:delivery:send"
#: candidates read per delivery to claim on PostgreSQL, where other workers lock some
CANDIDATE_FACTOR = 4


def _settings():
    return current_app.config


def _enabled_types():
    return list(current_app.extensions["gru.connectors"].types)


# -- fan-out ---------------------------------------------------------------------------------


def subscriptions(session):
    """``[(instance pk, events, party kinds)]`` of enabled instances of loaded types whose
    active application has a contract."""
    latest = (
        select(ServiceContract.pk)
        .where(ServiceContract.application_pk == ConnectorInstance.application_pk)
        .order_by(ServiceContract.version.desc())
        .limit(1)
        .correlate(ConnectorInstance)
        .scalar_subquery()
    )
    rows = session.execute(
        select(ConnectorInstance.pk, ServiceContract.events, ServiceContract.party_kinds)
        .join(Application, Application.pk == ConnectorInstance.application_pk)
        .join(ServiceContract, ServiceContract.pk == latest)
        .where(ConnectorInstance.is_enabled.is_(True), Application.is_active.is_(True),
               ConnectorInstance.type.in_(_enabled_types()))
    ).all()
    return [(pk, frozenset(events or ()), frozenset(kinds or ())) for pk, events, kinds in rows]


def fan_out(session, recorded):
    """Listener of recorded events: one delivery row per subscribing instance (same transaction)."""
    extension = current_app.extensions.get("gru.connectors")
    if extension is None or not recorded:
        return
    subscribed = extension.subscriptions(session)
    if not subscribed:
        return
    now = utcnow()
    expires_at = now + timedelta(seconds=_settings()["GRU_CONNECTORS_RETRY_HORIZON"])
    rows = [
        {"id": uuid.uuid4(), "instance_pk": instance_pk, "event_pk": event.pk, "party_id": event.party_id,
         "sequence": event.sequence, "status": "pending", "attempts": 0, "created_at": now,
         "next_attempt_at": now, "expires_at": expires_at}
        for event in recorded
        for instance_pk, events, kinds in subscribed
        if event.type in events and event.party_kind in kinds
    ]
    if rows:
        session.connection().execute(insert(Delivery.__table__), rows)


# -- claiming --------------------------------------------------------------------------------


def lease_seconds():
    """How long a claim lasts: enough for a token fetch, a 401 retry and two calls."""
    return 5 * float(_settings()["GRU_CONNECTORS_TIMEOUT"]) + 30


def _due(now):
    earlier = aliased(Delivery)
    blocked = exists().where(
        earlier.instance_pk == Delivery.instance_pk,
        earlier.party_id == Delivery.party_id,
        earlier.sequence < Delivery.sequence,
        earlier.status.in_(OPEN_STATUSES),
    )
    return (
        Delivery.status.in_(OPEN_STATUSES),
        Delivery.next_attempt_at <= now,
        or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
        ~blocked,
    )


def _candidates(limit, now, shares, default_share):
    """Due, unblocked deliveries, at most ``shares[instance]`` (or ``default_share``) per
    instance, earliest first: one index range scan per enabled instance (there are few),
    without locks, so that one instance's backlog never hides another's."""
    instance_pks = db.session.scalars(
        select(ConnectorInstance.pk).where(ConnectorInstance.is_enabled.is_(True),
                                           ConnectorInstance.type.in_(_enabled_types()))
    ).all()
    found = []
    for instance_pk in instance_pks:
        share = shares.get(instance_pk, default_share)
        if share <= 0:
            continue
        found.extend(db.session.execute(
            select(Delivery.next_attempt_at, Delivery.pk)
            .where(Delivery.instance_pk == instance_pk, *_due(now))
            .order_by(Delivery.next_attempt_at, Delivery.pk).limit(share)
        ).all())
    return [pk for _at, pk in sorted(found)[:limit]]


def lock_due(limit, now, shares=None, default_share=None):
    """The pks of up to ``limit`` due deliveries, locked (PostgreSQL: ``FOR UPDATE SKIP
    LOCKED``) in the current transaction; the first step of :func:`claim`."""
    is_postgresql = db.session.get_bind().dialect.name == "postgresql"
    shares, default_share = shares or {}, default_share or limit
    # Other workers may be locking some candidates right now: read more than needed, let
    # SKIP LOCKED pass over theirs, then keep each instance's share (rows locked and not
    # kept are released untouched at commit).
    factor = CANDIDATE_FACTOR if is_postgresql else 1
    candidates = _candidates(limit * factor, now, {pk: share * factor for pk, share in shares.items()},
                             default_share * factor)
    if not candidates:
        return []
    query = (
        select(Delivery.pk, Delivery.instance_pk)
        .where(Delivery.pk.in_(candidates), Delivery.status.in_(OPEN_STATUSES),
               or_(Delivery.lease_until.is_(None), Delivery.lease_until < now))
        .order_by(Delivery.next_attempt_at, Delivery.pk)
        .limit(limit)  # PostgreSQL locks every row it returns
    )
    if is_postgresql:
        query = query.with_for_update(skip_locked=True)
    pks, taken = [], {}
    for pk, instance_pk in db.session.execute(query):
        if taken.get(instance_pk, 0) < shares.get(instance_pk, default_share):
            taken[instance_pk] = taken.get(instance_pk, 0) + 1
            pks.append(pk)
    return pks


def claim(limit, now=None, shares=None, default_share=None):
    """Lease up to ``limit`` due deliveries to this worker; returns ``[(delivery, message)]``,
    ``message`` None for a delivery skipped (nothing to send).

    ``shares`` caps the deliveries claimed per instance (``{instance pk: n}``, others
    ``default_share``, default ``limit``). Candidates are read first, then locked: on
    PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` (rows another worker is claiming are
    passed over, not waited for), and their lease is checked again under the lock.
    Builds each payload now (module :mod:`gru.connectors.payloads`) and journals each
    disclosure before it leaves (fail closed); deliveries with nothing to send are marked
    ``skipped`` here. The caller commits, then sends.
    """
    now = now or utcnow()
    pks = lock_due(limit, now, shares, default_share)
    if not pks:
        return []
    lease_until = now + timedelta(seconds=lease_seconds())
    db.session.execute(update(Delivery).where(Delivery.pk.in_(pks)).values(lease_until=lease_until),
                       execution_options={"synchronize_session": False})
    deliveries = list(db.session.scalars(
        select(Delivery).where(Delivery.pk.in_(pks)).order_by(Delivery.next_attempt_at, Delivery.pk)
        .execution_options(populate_existing=True)
    ))
    contracts, claimed, journal = {}, [], []
    for delivery in deliveries:
        instance, event = delivery.instance, delivery.event
        application = instance.application
        if application.pk not in contracts:
            contracts[application.pk] = contract_view(current_contract(application))
        contract = contracts[application.pk]
        payload, disclosed = build_payload(event, contract, application.code)
        if payload is None:
            _finish(delivery, SKIPPED, now, receipt={"skipped": "nothing the application may read changed"})
            claimed.append((delivery, None))
            continue
        delivery.attempts += 1
        delivery.last_attempt_at = now
        message = Message(
            event_id=str(event.id), type=event.type, party_id=str(event.party_id),
            party_kind=payload["party"]["kind"], sequence=event.sequence, occurred_at=event.occurred_at,
            payload=payload, local_id=payload["party"]["local_id"], attempt=delivery.attempts,
        )
        claimed.append((delivery, message))
        journal.append({
            "actor_type": "application", "actor_id": HUB_ACTOR,
            "on_behalf_of": f"application:{application.code}/connector:{instance.name}",
            "action": JOURNAL_ACTION, "party_id": str(event.party_id), "attribute_keys": disclosed,
            "purpose": instance.purpose or contract.purposes[0], "request_id": str(delivery.id),
        })
    record_accesses(db.session, journal)
    db.session.flush()
    return claimed


# -- outcomes --------------------------------------------------------------------------------


def retry_delay(attempts, base, rng=random):
    """Seconds before try ``attempts + 1``: exponential, capped, half of it jittered."""
    delay = min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, attempts - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


def _finish(delivery, status, now, *, receipt=None, error=None, status_code=None):
    delivery.status = status
    delivery.lease_until = None
    delivery.receipt = receipt or None
    delivery.last_error = error
    delivery.last_status_code = status_code
    if status in (DELIVERED, SKIPPED):
        delivery.delivered_at = now


def _record_local_id(delivery, local_id):
    """Keep the application's own id for the party as its cross-reference."""
    from gru.identity.services.context import Actor
    from gru.identity.services.references import add_cross_reference, remove_cross_reference

    code = delivery.instance.application.code
    actor = Actor(type="application", id=code)
    current = db.session.scalar(
        select(func.min(CrossReference.local_id))
        .join(Party, Party.pk == CrossReference.party_pk)
        .where(CrossReference.application_code == code, Party.id == delivery.party_id)
    )
    if local_id == REMOVE or (current is not None and current != local_id):
        if current is not None:
            remove_cross_reference(delivery.party_id, code, current, "application", actor)
    if local_id != REMOVE and current != local_id:
        add_cross_reference(delivery.party_id, code, local_id, "application", actor)


def record_outcomes(results, now=None, rng=random):
    """Apply ``[(delivery pk, Outcome)]``; flushes, the caller commits. Returns counts."""
    now = now or utcnow()
    base = float(_settings()["GRU_CONNECTORS_BACKOFF_BASE"])
    counts = {"delivered": 0, "retrying": 0, "dead": 0, "skipped": 0}
    # The common case in one executemany: delivered, nothing learnt to record.
    plain = [(pk, outcome) for pk, outcome in results if outcome.status == DELIVERED and outcome.local_id is None]
    if plain:
        table = Delivery.__table__
        db.session.execute(
            update(table).where(table.c.pk == bindparam("b_pk"),
                                or_(table.c.status == OPEN_STATUSES[0], table.c.status == OPEN_STATUSES[1]))
            .values(status=DELIVERED, lease_until=None, last_error=None, delivered_at=now,
                    receipt=bindparam("b_receipt"), last_status_code=bindparam("b_code")),
            [{"b_pk": pk, "b_receipt": outcome.receipt or None, "b_code": outcome.status_code}
             for pk, outcome in plain],
            execution_options={"synchronize_session": False},
        )
        counts["delivered"] += len(plain)
        results = [(pk, outcome) for pk, outcome in results if not (outcome.status == DELIVERED
                                                                     and outcome.local_id is None)]
    loaded = {delivery.pk: delivery for delivery in db.session.scalars(
        select(Delivery).where(Delivery.pk.in_([pk for pk, _ in results]))
        .execution_options(populate_existing=True))} if results else {}
    for pk, outcome in results:
        delivery = loaded.get(pk)
        if delivery is None or delivery.status not in OPEN_STATUSES:
            continue  # deleted or replayed meanwhile
        if outcome.status == DELIVERED:
            _finish(delivery, DELIVERED, now, receipt=outcome.receipt, status_code=outcome.status_code)
            if outcome.local_id is not None:
                _record_local_id(delivery, outcome.local_id)
            counts["delivered"] += 1
        elif outcome.status == SKIPPED:
            _finish(delivery, SKIPPED, now, receipt=outcome.receipt)
            counts["skipped"] += 1
        elif outcome.status == RETRY:
            delay = retry_delay(delivery.attempts, base, rng)
            if outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)
            next_at = now + timedelta(seconds=delay)
            if next_at > delivery.expires_at:
                _finish(delivery, "dead", now, error=f"{outcome.error} (retries past the horizon)",
                        status_code=outcome.status_code)
                counts["dead"] += 1
            else:
                delivery.status = "retrying"
                delivery.next_attempt_at = next_at
                delivery.lease_until = None
                delivery.last_error = outcome.error
                delivery.last_status_code = outcome.status_code
                counts["retrying"] += 1
        else:  # FAILED
            _finish(delivery, "dead", now, error=outcome.error, status_code=outcome.status_code)
            counts["dead"] += 1
    db.session.flush()
    return counts


# Reads and replays of deliveries live in gru.connectors.deliveries; named here too.
from gru.connectors.deliveries import (  # noqa: E402
    delivery_document,
    get_delivery,
    instance_status,
    list_deliveries,
    party_status,
    replay_dead,
    replay_delivery,
)

__all__ = ["claim", "fan_out", "lock_due", "record_outcomes", "delivery_document", "get_delivery",
           "instance_status", "list_deliveries", "party_status", "replay_dead", "replay_delivery"]
