"""Deliveries as an administrator sees them: dead letters, replay, status per instance and
per party (CLI and admin API). Reads and replays only; sending is :mod:`gru.connectors.dispatch`.

A replayed delivery is pending again at once, with a new retry horizon
(``GRU_CONNECTORS_RETRY_HORIZON`` from the replay); its attempts are kept.
"""

import uuid
from datetime import timedelta, timezone

from flask import current_app
from sqlalchemy import func, select, update

from gru.connectors.models import OPEN_STATUSES, ConnectorInstance, Delivery
from gru.dbtypes import utcnow
from gru.errors import NotFound, ValidationFailed
from gru.events.models import Event
from gru.extensions import db


def _settings():
    return current_app.config


def get_delivery(delivery_id):
    try:
        delivery_id = uuid.UUID(str(delivery_id))
    except ValueError:
        raise NotFound("No delivery has this id.") from None
    delivery = db.session.scalar(select(Delivery).where(Delivery.id == delivery_id))
    if delivery is None:
        raise NotFound("No delivery has this id.")
    return delivery


def _replay(query, now):
    horizon = timedelta(seconds=_settings()["GRU_CONNECTORS_RETRY_HORIZON"])
    result = db.session.execute(
        query.values(status="pending", next_attempt_at=now, lease_until=None, expires_at=now + horizon,
                     delivered_at=None),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()
    return result.rowcount


def replay_delivery(delivery_id, now=None):
    """Send a dead delivery again (its attempts are kept); returns it."""
    delivery = get_delivery(delivery_id)
    if delivery.status != "dead":
        raise ValidationFailed({"status": [f"Only dead deliveries are replayed; this one is {delivery.status}."]})
    _replay(update(Delivery).where(Delivery.pk == delivery.pk), now or utcnow())
    db.session.refresh(delivery)
    return delivery


def replay_dead(instance_name=None, now=None):
    """Replay every dead delivery (of one instance); returns how many."""
    from gru.connectors.services import get_instance

    query = update(Delivery).where(Delivery.status == "dead")
    if instance_name:
        query = query.where(Delivery.instance_pk == get_instance(instance_name).pk)
    return _replay(query, now or utcnow())


def list_deliveries(*, instance_name=None, party_id=None, status=None, limit=100):
    from gru.connectors.services import get_instance

    query = select(Delivery).order_by(Delivery.pk.desc()).limit(limit)
    if instance_name:
        query = query.where(Delivery.instance_pk == get_instance(instance_name).pk)
    if party_id:
        query = query.where(Delivery.party_id == party_id)
    if status:
        query = query.where(Delivery.status == status)
    return list(db.session.scalars(query))


def instance_status(now=None):
    """Per instance: deliveries by status and the lag (age of the oldest open delivery)."""
    now = now or utcnow()
    counts = {}
    for instance_pk, status, count in db.session.execute(
        select(Delivery.instance_pk, Delivery.status, func.count()).group_by(Delivery.instance_pk, Delivery.status)
    ):
        counts.setdefault(instance_pk, {})[status] = count
    oldest = dict(db.session.execute(
        select(Delivery.instance_pk, func.min(Delivery.created_at))
        .where(Delivery.status.in_(OPEN_STATUSES)).group_by(Delivery.instance_pk)
    ).all())
    last = dict(db.session.execute(
        select(Delivery.instance_pk, func.max(Delivery.delivered_at)).group_by(Delivery.instance_pk)
    ).all())
    summary = []
    for instance in db.session.scalars(select(ConnectorInstance).order_by(ConnectorInstance.name)):
        by_status = {status: counts.get(instance.pk, {}).get(status, 0)
                     for status in ("pending", "retrying", "delivered", "skipped", "dead")}
        first_open = oldest.get(instance.pk)
        if first_open is not None and first_open.tzinfo is None:  # SQLite's MIN() drops the type
            first_open = first_open.replace(tzinfo=timezone.utc)
        summary.append({
            "name": instance.name, "type": instance.type, "application": instance.application.code,
            "is_enabled": instance.is_enabled, "deliveries": by_status,
            "lag_seconds": round(max(0.0, (now - first_open).total_seconds()), 3) if first_open else 0.0,
            "last_delivered_at": last.get(instance.pk),
        })
    return summary


def party_status(party_id):
    """Per instance, the deliveries of one party's events, oldest first."""
    rows = db.session.execute(
        select(Delivery, Event.type)
        .join(Event, Event.pk == Delivery.event_pk)
        .where(Delivery.party_id == party_id)
        .order_by(Delivery.instance_pk, Delivery.sequence)
    ).all()
    return [(delivery, type_) for delivery, type_ in rows]


def delivery_document(delivery, event_type=None):
    return {
        "id": delivery.id,
        "instance": delivery.instance.name,
        "application": delivery.instance.application.code,
        "event_id": delivery.event.id,
        "event_type": event_type or delivery.event.type,
        "party_id": delivery.party_id,
        "sequence": delivery.sequence,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at if delivery.status in OPEN_STATUSES else None,
        "last_attempt_at": delivery.last_attempt_at,
        "last_error": delivery.last_error,
        "last_status_code": delivery.last_status_code,
        "delivered_at": delivery.delivered_at,
        "receipt": delivery.receipt,
    }
