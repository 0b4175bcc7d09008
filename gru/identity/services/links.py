"""Dated relations between parties (DESIGN.md "link").

Only persons can be members, representatives or guardians. A household has at most
one head at a time (OpenSPP-style dated group membership).
"""

from datetime import date

from sqlalchemy import or_, select

from gru.errors import Conflict, NotFound, ValidationFailed
from gru.events.services import record_event
from gru.extensions import db
from gru.identity.models import HistoryEntry, Link
from gru.identity.services.parties import check_if_match, get_party_for

TARGET_KINDS = {
    "member_of": ("household",),
    "represents": ("association", "company"),
    "guardian_of": ("person",),
}
MEMBER_ROLES = ("head", "partner", "child", "other")
MAX_ROLE_LENGTH = 64


def _periods_overlap(start_a, end_a, start_b, end_b):
    """Closed periods; an open end (None) runs for ever."""
    return (end_b is None or start_a <= end_b) and (end_a is None or start_b <= end_a)


def _check_role(kind, role):
    if kind == "member_of":
        if role not in MEMBER_ROLES:
            raise ValidationFailed({"role": [f"A household role is one of {', '.join(MEMBER_ROLES)}."]})
        return role
    role = (role or ("guardian" if kind == "guardian_of" else "")).strip()
    if not role or len(role) > MAX_ROLE_LENGTH or not role.isprintable():
        raise ValidationFailed({"role": [f"A role is a printable text of 1 to {MAX_ROLE_LENGTH} characters."]})
    return role


def _active_links(query_filter, starts_on, ends_on):
    candidates = db.session.scalars(select(Link).where(*query_filter))
    return [link for link in candidates if _periods_overlap(starts_on, ends_on, link.starts_on, link.ends_on)]


def create_link(*, person_id, kind, target_id, role, starts_on=None, ends_on=None, channel, actor):
    if kind not in TARGET_KINDS:
        raise ValidationFailed({"kind": [f"A link kind is one of {', '.join(TARGET_KINDS)}."]})
    person, target = get_party_for(actor, person_id), get_party_for(actor, target_id)
    if person.kind != "person":
        raise ValidationFailed({"person_id": ["Only a person can be a member, a representative or a guardian."]})
    if target.kind not in TARGET_KINDS[kind]:
        raise ValidationFailed({"target_id": [f"A {kind} link points to a {' or '.join(TARGET_KINDS[kind])}."]})
    if person.pk == target.pk:
        raise ValidationFailed({"target_id": ["A person cannot be linked to itself."]})
    for party in (person, target):
        if party.status != "active":
            raise ValidationFailed({"target_id": [f"Party {party.id} is {party.status}."]})
    role = _check_role(kind, role)
    starts_on = starts_on or date.today()
    if ends_on is not None and ends_on < starts_on:
        raise ValidationFailed({"ends_on": ["A link cannot end before it starts."]})
    if _active_links(
        (Link.kind == kind, Link.person_pk == person.pk, Link.target_pk == target.pk), starts_on, ends_on
    ):
        raise Conflict("These parties are already linked this way over this period.")
    if kind == "member_of" and role == "head":
        if _active_links((Link.kind == kind, Link.target_pk == target.pk, Link.role == "head"), starts_on, ends_on):
            raise Conflict("This household already has a head over this period.")
    link = Link(
        kind=kind, person=person, target=target, role=role, starts_on=starts_on, ends_on=ends_on
    )
    db.session.add(link)
    db.session.flush()
    _record(link, "created", None, link_summary(link), channel, actor)
    _record_events("link.created", link)
    return link


def get_link(link_id):
    link = db.session.scalar(select(Link).where(Link.id == link_id))
    if link is None:
        raise NotFound("No link has this id.")
    return link


def end_link(link_id, if_match, ends_on, channel, actor):
    link = get_link(link_id)
    actor.check_kind(link.person.kind)
    actor.check_kind(link.target.kind)
    check_if_match(link, if_match)
    ends_on = ends_on or date.today()
    if ends_on < link.starts_on:
        raise ValidationFailed({"ends_on": ["A link cannot end before it starts."]})
    before = link_summary(link)
    link.ends_on = ends_on
    db.session.flush()
    _record(link, "ended", before, link_summary(link), channel, actor)
    _record_events("link.ended", link)
    return link


def links_of(party, *, include_ended=True):
    """The links of ``party`` (a loaded party), in both directions."""
    query = select(Link).where(or_(Link.person_pk == party.pk, Link.target_pk == party.pk)).order_by(Link.pk)
    links = list(db.session.scalars(query))
    if not include_ended:
        today = date.today()
        links = [link for link in links if link.ends_on is None or link.ends_on >= today]
    return links


def link_summary(link):
    return {
        "id": str(link.id),
        "kind": link.kind,
        "person_id": str(link.person.id),
        "target_id": str(link.target.id),
        "role": link.role,
        "starts_on": link.starts_on.isoformat(),
        "ends_on": link.ends_on.isoformat() if link.ends_on else None,
    }


def _record(link, action, old, new, channel, actor):
    """One history entry on each party of the link, so both histories tell it."""
    for party in (link.person, link.target):
        db.session.add(
            HistoryEntry(
                party_pk=party.pk,
                subject="link",
                subject_key=str(link.id),
                action=action,
                old_value=old,
                new_value=new,
                channel=channel,
                author_type=actor.type,
                author_id=actor.id,
            )
        )
    db.session.flush()


def _record_events(type_, link):
    """Outbox: one event per party of the link, each in its own party's sequence."""
    summary = link_summary(link)
    for party in (link.person, link.target):
        record_event(db.session, type_, party, {"link": summary})


__all__ = ["create_link", "end_link", "get_link", "links_of", "link_summary"]
