"""Use cases of the consent package: the purposes register and the consents of parties.

Purposes (GDPR art. 30(1)): declared, updated and retired by administrators; a retired
purpose stays in the register, so that the consents recorded for it still name it.

Consents (GDPR art. 7): recorded only for a purpose whose lawful basis is ``consent``
(art. 6(1)(a)); every statement is a new row, so the history shows what the person agreed
to, when, through which channel and before whom. Withdrawing is always possible, even
for a retired purpose (art. 7(3): as easy as giving), but only what was given can be
withdrawn. Each statement is written in the party's change history and as an event
(``consent.given``, ``consent.withdrawn``) in the same transaction (outbox). Services
flush, never commit.
"""

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from gru.auth.contracts import CODE
from gru.auth.models import Application
from gru.auth.services import APPLICATION_CODE
from gru.consent.models import LAWFUL_BASES, STATES, Consent, Purpose
from gru.dbtypes import utcnow
from gru.errors import Conflict, Forbidden, InvalidValue, NotFound, ValidationFailed
from gru.events.services import record_event
from gru.extensions import db
from gru.identity.catalogue import CHANNELS
from gru.identity.models import HistoryEntry, Party
from gru.identity.strings import reject_forbidden_characters

PURPOSE_FIELDS = ("label", "description", "lawful_basis", "data_categories", "recipients", "retention_days",
                  "retention_text")
MAX_RETENTION_DAYS = 36_500
TEXT_VERSION = re.compile(r"^[\w.:/+-]{1,64}$")


def is_code(value, pattern=CODE):
    """Whether ``value`` is a string of the codes' form (purposes and contracts' codes, or
    ``pattern``), nothing before or after."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None


class PurposeNotConsentBased(ValidationFailed):
    """A consent was recorded for a purpose of another lawful basis (GDPR art. 6(1))."""

    code = "purpose-not-consent-based"


class ConsentNotGiven(Conflict):
    """Withdrawing a consent that is not given."""

    code = "consent-not-given"


@dataclass(frozen=True)
class ConsentActor:
    """Who reads or records consents, and what their rights cover.

    For an application, the edge fills these from its service contract (``consents``:
    ``read``, ``write``; the party kinds) and ``application`` is its own code: it sees
    and records consents for a purpose as a whole or limited to itself, never another
    application's (as it sees only its own cross-references).
    """

    type: str
    id: str
    may_read: bool = True
    may_write: bool = True
    party_kinds: tuple | None = None
    application: str | None = None

    def check_kind(self, kind):
        if self.party_kinds is not None and kind not in self.party_kinds:
            raise Forbidden(f"The caller's contract does not cover parties of kind {kind}.")

    def check_read(self):
        if not self.may_read:
            raise Forbidden("The caller's contract does not allow reading consents.")

    def check_write(self):
        if not self.may_write:
            raise Forbidden("The caller's contract does not allow recording consents.")

    def sees(self, consent):
        return self.type != "application" or consent.application_code in (None, self.application)


@dataclass
class ConsentRequest:
    purpose: str
    state: str
    channel: str
    text_version: str
    application: str | None = None
    valid_until: date | None = None


# -- the purposes register ----------------------------------------------------------------------


def _is_text(value, limit, multiline=False, required=True):
    """Whether ``value`` is a text of at most ``limit`` characters (at least one that is
    not a space, when ``required``) that the hub stores: no control character
    (:func:`gru.identity.strings.reject_forbidden_characters`; PostgreSQL refuses NUL),
    newlines and tabs allowed where ``multiline``."""
    if not isinstance(value, str) or len(value.strip()) > limit or (required and not value.strip()):
        return False
    try:
        reject_forbidden_characters(value.replace("\n", "").replace("\t", "") if multiline else value)
    except InvalidValue:
        return False
    return True


def _texts(errors, name, values, limit):
    if not isinstance(values, list) or not all(_is_text(value, limit) for value in values):
        errors[name] = [f"A list of texts of 1 to {limit} characters, without control characters."]
        return []
    return sorted({value.strip() for value in values})


def _check_purpose(document, current=None):
    """The purpose's fields, checked; ``current``: the purpose being updated (its values
    fill what ``document`` leaves out)."""
    fields = {name: getattr(current, name) for name in PURPOSE_FIELDS} if current else {
        "description": None, "data_categories": [], "recipients": [], "retention_days": None, "retention_text": None}
    unknown = set(document) - set(PURPOSE_FIELDS) - ({"code"} if current is None else set())
    errors = {name: ["Unknown field."] for name in sorted(unknown)}
    fields.update({name: value for name, value in document.items() if name in PURPOSE_FIELDS})
    if current is None:
        code = document.get("code")
        if not is_code(code):
            errors["code"] = [f"A code matching {CODE.pattern}."]
    if not _is_text(fields.get("label"), 200):
        errors["label"] = ["A text of 1 to 200 characters, without control characters."]
    if fields["description"] is not None and not _is_text(fields["description"], 4000, multiline=True,
                                                          required=False):
        errors["description"] = ["A text of at most 4000 characters, without control characters but newlines."]
    if fields.get("lawful_basis") not in LAWFUL_BASES:
        errors["lawful_basis"] = [f"One of {', '.join(LAWFUL_BASES)} (GDPR art. 6(1))."]
    fields["data_categories"] = _texts(errors, "data_categories", fields["data_categories"], 100)
    fields["recipients"] = _texts(errors, "recipients", fields["recipients"], 200)
    days, text = fields["retention_days"], fields["retention_text"]
    if "retention_days" in document and "retention_text" not in document:
        text = fields["retention_text"] = None  # an update giving one form replaces the other
    elif "retention_text" in document and "retention_days" not in document:
        days = fields["retention_days"] = None
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 0 < days <= MAX_RETENTION_DAYS):
        errors["retention_days"] = [f"A number of days from 1 to {MAX_RETENTION_DAYS}."]
    if text is not None and not _is_text(text, 500):
        errors["retention_text"] = ["A text of 1 to 500 characters, without control characters."]
    if (days is None) == (text is None) and "retention_days" not in errors and "retention_text" not in errors:
        errors["retention"] = ["The retention period: retention_days (a duration in days) or retention_text (a text), "
                               "one of the two."]
    if errors:
        raise ValidationFailed(errors, detail="The purpose is invalid.")
    fields["label"] = fields["label"].strip()
    if text is not None:
        fields["retention_text"] = text.strip()
    return fields


def get_purpose(code):
    # a code no purpose can have is not looked up: PostgreSQL refuses some characters
    # (NUL) in a text parameter, and the caller gets the same 404 either way
    purpose = db.session.scalar(select(Purpose).where(Purpose.code == code)) if is_code(code) else None
    if purpose is None:
        raise NotFound(f"No purpose has the code {code!r} in the register.")
    return purpose


def list_purposes(include_retired=False):
    query = select(Purpose).order_by(Purpose.code)
    if not include_retired:
        query = query.where(Purpose.retired_at.is_(None))
    return list(db.session.scalars(query))


def declare_purpose(document, author):
    """Add a purpose to the register (GDPR art. 30(1)); 409 when the code is taken."""
    if not isinstance(document, dict):
        raise ValidationFailed({"purpose": ["A JSON object."]})
    fields = _check_purpose(document)
    if db.session.scalar(select(Purpose.pk).where(Purpose.code == document["code"])) is not None:
        raise Conflict(f"The register already has a purpose {document['code']!r}.")
    now = utcnow()
    purpose = Purpose(code=document["code"], created_by=author, created_at=now, updated_by=author, updated_at=now,
                      **fields)
    db.session.add(purpose)
    db.session.flush()
    return purpose


def update_purpose(code, changes, author):
    """Change what the register says of a purpose. Its lawful basis no longer changes
    once consents were recorded for it: they were given for that basis."""
    purpose = get_purpose(code)
    if not isinstance(changes, dict):
        raise ValidationFailed({"purpose": ["A JSON object."]})
    fields = _check_purpose(changes, current=purpose)
    if fields["lawful_basis"] != purpose.lawful_basis and _has_consents(code):
        raise Conflict(f"Consents were recorded for {code!r}: its lawful basis stays {purpose.lawful_basis}. "
                       "Declare a new purpose instead.")
    for name, value in fields.items():
        setattr(purpose, name, value)
    purpose.updated_by, purpose.updated_at = author, utcnow()
    db.session.flush()
    return purpose


def retire_purpose(code, author):
    """Take a purpose out of use: it stays in the register, no consent can be given for
    it any more (withdrawing stays possible); 409 when already retired."""
    purpose = get_purpose(code)
    if purpose.is_retired:
        raise Conflict(f"The purpose {code!r} is already retired.")
    purpose.retired_at = purpose.updated_at = utcnow()
    purpose.updated_by = author
    db.session.flush()
    return purpose


def _has_consents(code):
    return db.session.scalar(select(func.count()).select_from(Consent).where(Consent.purpose_code == code)) > 0


# -- consents -----------------------------------------------------------------------------------


def _party(party_id, actor):
    party = db.session.scalar(select(Party).where(Party.id == party_id))
    if party is None:
        raise NotFound("No party has this id.")
    actor.check_kind(party.kind)
    return party


def _key(consent):
    return consent.purpose_code, consent.application_code


def _rows(party, actor):
    rows = db.session.scalars(select(Consent).where(Consent.party_pk == party.pk).order_by(Consent.pk))
    return [row for row in rows if actor.sees(row)]


def _latest(rows):
    latest = {}
    for row in rows:
        latest[_key(row)] = row
    return sorted(latest.values(), key=lambda row: (row.purpose_code, row.application_code or ""))


def _current_state(party, purpose_code, application_code):
    """The state of the party's latest statement about (purpose, application), whoever sees it."""
    application = (Consent.application_code.is_(None) if application_code is None
                   else Consent.application_code == application_code)
    return db.session.scalar(select(Consent.state).where(
        Consent.party_pk == party.pk, Consent.purpose_code == purpose_code, application)
        .order_by(Consent.pk.desc()).limit(1))


def current_consents(party_id, actor):
    """``(party, consents)``: per (purpose, application) the latest statement, by purpose."""
    actor.check_read()
    party = _party(party_id, actor)
    return party, _latest(_rows(party, actor))


def consent_history(party_id, actor):
    """``(party, consents)``: every statement the actor may see, oldest first."""
    actor.check_read()
    party = _party(party_id, actor)
    return party, _rows(party, actor)


def _check_request(request, actor):
    errors = {}
    if not is_code(request.purpose):
        errors["purpose"] = [f"A purpose's code matches {CODE.pattern}."]
    if request.state not in STATES:
        errors["state"] = [f"One of {', '.join(STATES)}."]
    if request.channel not in CHANNELS:
        errors["channel"] = [f"Unknown channel; expected one of {', '.join(CHANNELS)}."]
    if not isinstance(request.text_version, str) or not TEXT_VERSION.match(request.text_version):
        errors["text_version"] = ["The version of the text shown to the person: 1 to 64 letters, digits or ._:/+-."]
    if request.valid_until is not None:
        if request.state != "given":
            errors["valid_until"] = ["Only a consent given has an end date."]
        elif request.valid_until < date.today():
            errors["valid_until"] = ["The end date is in the past."]
    if request.application is not None:
        if actor.type == "application" and request.application != actor.application:
            raise Forbidden("An application records consents limited to itself only.")
        if not is_code(request.application, APPLICATION_CODE):
            errors["application"] = [f"An application's code matches {APPLICATION_CODE.pattern}."]
        elif db.session.scalar(select(Application.pk).where(Application.code == request.application)) is None:
            errors["application"] = [f"No application has the code {request.application!r}."]
    if errors:
        raise ValidationFailed(errors)


def record_consent(party_id, request, actor):
    """Record a consent given or withdrawn (GDPR art. 7(1): the controller can show it).

    422 for a purpose whose lawful basis is not ``consent`` (a public task needs no
    consent, and asking for one would mislead the person), or a retired purpose (to give
    it); 409 when withdrawing what is not given; 422 for a party that is not active.
    Two statements about one party at the same moment cannot both pass on a stale state:
    the event's per-party sequence number is unique, so the later transaction fails.
    """
    actor.check_write()
    party = _party(party_id, actor)
    _check_request(request, actor)
    purpose = db.session.scalar(select(Purpose).where(Purpose.code == request.purpose))
    if purpose is None:
        raise ValidationFailed({"purpose": [f"No purpose has the code {request.purpose!r} in the register."]})
    if purpose.lawful_basis != "consent":
        raise PurposeNotConsentBased(
            {"purpose": [f"The lawful basis of {purpose.code!r} is {purpose.lawful_basis}, not consent: "
                         "no consent is recorded for it."]},
            detail=f"Consents are recorded only for purposes based on consent; {purpose.code!r} is "
                   f"{purpose.lawful_basis}.")
    if purpose.is_retired and request.state == "given":
        raise ValidationFailed({"purpose": [f"The purpose {purpose.code!r} is retired: no consent can be given."]})
    if party.status != "active":
        raise ValidationFailed({"party": [f"This party is {party.status}: no consent can be recorded."]})
    before = _current_state(party, purpose.code, request.application)
    if request.state == "withdrawn" and before != "given":
        raise ConsentNotGiven(f"No consent to {purpose.code!r} is given"
                              f"{' for ' + request.application if request.application else ''}: nothing to withdraw.")
    consent = Consent(party_pk=party.pk, purpose_code=purpose.code, application_code=request.application,
                      state=request.state, channel=request.channel, author_type=actor.type, author_id=actor.id,
                      text_version=request.text_version, recorded_at=utcnow(), valid_until=request.valid_until)
    db.session.add(consent)
    db.session.add(HistoryEntry(
        party_pk=party.pk, subject="consent", subject_key=history_key(consent), action=request.state,
        old_value=before, new_value=request.state, channel=request.channel, author_type=actor.type,
        author_id=actor.id, recorded_at=consent.recorded_at))
    db.session.flush()
    record_event(db.session, f"consent.{request.state}", party, {
        "consent_id": str(consent.id), "purpose": purpose.code, "application": request.application,
        "state": request.state, "text_version": request.text_version,
        "valid_until": request.valid_until.isoformat() if request.valid_until else None})
    return party, consent


def history_key(consent):
    """How a consent is named in the change history and the journal: ``purpose`` or
    ``purpose@application``."""
    return consent.purpose_code + (f"@{consent.application_code}" if consent.application_code else "")


def journal_keys(consents):
    """The journal's keys of what was shown: ``consent:<purpose>[@application]``, never the state."""
    return sorted({f"consent:{history_key(consent)}" for consent in consents})


def purpose_labels():
    return dict(db.session.execute(select(Purpose.code, Purpose.label)).all())


def is_in_force(consent, today=None):
    """Given and not past its end date."""
    return consent.state == "given" and (consent.valid_until is None or consent.valid_until >= (today or date.today()))
