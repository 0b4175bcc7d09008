"""Who writes and how a written value is proven: what every write carries once."""

import uuid
from dataclasses import dataclass, field

from flask import current_app

from gru.errors import Forbidden, ValidationFailed


def allow_every_attribute(attribute_key):
    return True


@dataclass(frozen=True)
class Actor:
    """The author of a change: an application (by code) or an agent (by login).

    The policy fields let the caller's rights (service contract, role) narrow what the
    identity services will accept, without identity knowing where the rights come from.
    """

    type: str
    id: str
    may_write: callable = field(default=allow_every_attribute, compare=False)
    #: the highest certification level this actor may claim on a write
    max_level: int = 600
    #: supervisors may replace a golden value by one of a lower level (a correction)
    may_correct_below_level: bool = False
    #: the party kinds this actor may touch; None: every kind
    party_kinds: tuple | None = None

    def check_kind(self, kind):
        if self.party_kinds is not None and kind not in self.party_kinds:
            raise Forbidden(f"The caller's contract does not cover parties of kind {kind}.")


@dataclass(frozen=True)
class Provenance:
    """DESIGN.md "value": channel, certification process and level, supporting document."""

    channel: str
    process: str
    level: int
    document_id: uuid.UUID | None = None


def catalogue():
    """The attribute catalogue loaded by the app factory."""
    return current_app.extensions["gru.catalogue"]


def make_provenance(channel, process, level=None, document_id=None):
    """Check a provenance against the catalogue of channels and processes.

    The level, when given, must be the one of the process: a caller cannot claim
    "original document checked" at level 600.
    """
    from gru.identity.catalogue import CHANNELS

    errors = {}
    if channel not in CHANNELS:
        errors["channel"] = [f"Unknown channel; expected one of {', '.join(CHANNELS)}."]
    known = {process_.code: process_ for process_ in catalogue().processes}
    if process not in known:
        errors["process"] = [f"Unknown certification process; expected one of {', '.join(known)}."]
    elif level is not None and level != known[process].level:
        errors["level"] = [f"Process {process} certifies at level {known[process].level}, not {level}."]
    if errors:
        raise ValidationFailed(errors)
    return Provenance(channel=channel, process=process, level=known[process].level, document_id=document_id)
