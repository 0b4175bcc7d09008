"""Service contracts: what each application may read, write and search, for which purposes.

Least privilege per attribute (GDPR art. 5(1)(c), data minimisation): an application sees
only the attributes its contract lets it read, writes only those it may write, filters
only on those it may search, and states for every call one of its contract's purposes.
"""

import re
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import aliased

from gru.auth.models import CONSENT_RIGHTS, RIGHTS, Application, ServiceContract
from gru.auth.services import get_application
from gru.errors import Forbidden, GruError, ValidationFailed
from gru.extensions import db
from gru.identity.catalogue import LEVELS, PARTY_KINDS

CODE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
EVENT = re.compile(r"^[a-z]+\.[a-z_]+$")
MAX_CASE_REF_LENGTH = 128


class PurposeRequired(GruError):
    code = "purpose-required"
    status = 400
    title = "Purpose required"


def _identifier_types():
    from gru.identity.services.references import IDENTIFIER_TYPES

    return IDENTIFIER_TYPES


def _check_codes(errors, name, values, pattern, at_least_one=False):
    if not isinstance(values, list) or not all(isinstance(value, str) and pattern.match(value) for value in values):
        errors[name] = [f"A list of codes matching {pattern.pattern}."]
    elif at_least_one and not values:
        errors[name] = ["At least one."]


def validate_contract_document(document, catalogue):
    """Check a contract document (as given to the CLI or the admin API); returns it normalised."""
    if not isinstance(document, dict):
        raise ValidationFailed({"contract": ["A JSON object."]})
    known = {"purposes", "party_kinds", "attributes", "max_level", "document_types", "events", "consents"}
    errors = {key: ["Unknown field."] for key in document if key not in known}
    purposes = document.get("purposes")
    _check_codes(errors, "purposes", purposes, CODE, at_least_one=True)
    kinds = document.get("party_kinds", list(PARTY_KINDS))
    if not isinstance(kinds, list) or not set(kinds) <= set(PARTY_KINDS):
        errors["party_kinds"] = [f"A list among {', '.join(PARTY_KINDS)}."]
    attributes = document.get("attributes", {})
    allowed_keys = {definition.key for definition in catalogue} | set(_identifier_types())
    if not isinstance(attributes, dict):
        errors["attributes"] = ["An object: attribute key -> list of rights."]
    else:
        for key, rights in attributes.items():
            if key not in allowed_keys:
                errors[f"attributes.{key}"] = ["Unknown attribute or identifier type."]
            elif not isinstance(rights, list) or not set(rights) <= set(RIGHTS):
                errors[f"attributes.{key}"] = [f"A list among {', '.join(RIGHTS)}."]
    max_level = document.get("max_level", 100)
    if max_level not in LEVELS or isinstance(max_level, bool):
        errors["max_level"] = [f"One of {', '.join(map(str, LEVELS))}."]
    document_types = document.get("document_types", [])
    _check_codes(errors, "document_types", document_types, CODE)
    events = document.get("events", [])
    _check_codes(errors, "events", events, EVENT)
    consents = document.get("consents", [])
    if not isinstance(consents, list) or not all(isinstance(right, str) for right in consents) \
            or not set(consents) <= set(CONSENT_RIGHTS):
        errors["consents"] = [f"A list among {', '.join(CONSENT_RIGHTS)}."]
    if errors:
        raise ValidationFailed(errors, detail="The contract is invalid.")
    return {
        "purposes": sorted(set(purposes)),
        "party_kinds": [kind for kind in PARTY_KINDS if kind in kinds],
        "attributes": {key: sorted(set(rights), key=RIGHTS.index) for key, rights in attributes.items() if rights},
        "max_level": max_level,
        "document_types": sorted(set(document_types)),
        "events": sorted(set(events)),
        "consents": sorted(set(consents), key=CONSENT_RIGHTS.index),
    }


def full_access_document(catalogue, purposes=("demo",)):
    """Every right on every attribute and on consents: for the demo application and development only."""
    keys = [definition.key for definition in catalogue] + list(_identifier_types())
    return {
        "purposes": list(purposes),
        "party_kinds": list(PARTY_KINDS),
        "attributes": {key: list(RIGHTS) for key in keys},
        "max_level": 600,
        "consents": list(CONSENT_RIGHTS),
    }


def set_contract(application_code, document, catalogue, author):
    """Put a new version of an application's contract in force; returns it."""
    application = get_application(application_code)
    normalised = validate_contract_document(document, catalogue)
    current = current_contract(application)
    contract = ServiceContract(
        application_pk=application.pk,
        version=(current.version + 1) if current else 1,
        created_by=author,
        **normalised,
    )
    db.session.add(contract)
    db.session.flush()
    return contract


def current_contract(application):
    return db.session.scalar(
        select(ServiceContract)
        .where(ServiceContract.application_pk == application.pk)
        .order_by(ServiceContract.version.desc())
        .limit(1)
    )


def contract_history(application_code):
    application = get_application(application_code)
    return list(
        db.session.scalars(
            select(ServiceContract)
            .where(ServiceContract.application_pk == application.pk)
            .order_by(ServiceContract.version)
        )
    )


@dataclass(frozen=True)
class ApplicationView:
    """What a request needs of an application, detached from any session."""

    code: str
    client_id: str
    scope_list: tuple
    is_active: bool


@dataclass(frozen=True)
class ContractView:
    """The contract in force, detached from any session (safe to share between requests)."""

    version: int
    purposes: tuple
    party_kinds: tuple
    attributes: dict
    max_level: int
    document_types: tuple
    events: tuple
    consents: tuple = ()

    def may_read(self, key):
        return "read" in self.attributes.get(key, ())

    def may_write(self, key):
        return "write" in self.attributes.get(key, ())

    def may_search(self, key):
        return "search" in self.attributes.get(key, ())

    def may_read_consents(self):
        return "read" in self.consents

    def may_write_consents(self):
        return "write" in self.consents


def contract_view(contract):
    if contract is None:
        return None
    return ContractView(
        version=contract.version,
        purposes=tuple(contract.purposes),
        party_kinds=tuple(contract.party_kinds),
        attributes={key: tuple(rights) for key, rights in contract.attributes.items()},
        max_level=contract.max_level,
        document_types=tuple(contract.document_types),
        events=tuple(contract.events),
        consents=tuple(contract.consents or ()),
    )


class CallerCache:
    """(application, contract) per client id, kept ``ttl`` seconds.

    Every API call needs them; a contract change or a disabled application takes effect
    within ``ttl`` seconds (``GRU_CONTRACT_CACHE_SECONDS``; 0 turns the cache off).
    """

    def __init__(self, ttl):
        self.ttl = ttl
        self._entries = {}

    def get(self, client_id):
        now = time.monotonic()
        cached = self._entries.get(client_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        application, contract = contract_for_client_id(client_id)
        found = (
            ApplicationView(application.code, application.client_id, tuple(application.scope_list), application.is_active)
            if application is not None
            else None,
            contract_view(contract),
        )
        if self.ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[client_id] = (now + self.ttl, found)
        return found


def contract_for_client_id(client_id):
    """``(application, contract in force or None)`` for a client id, in one query."""
    versions = aliased(ServiceContract)
    latest = (
        select(versions.pk)
        .where(versions.application_pk == Application.pk)
        .order_by(versions.version.desc())
        .limit(1)
        .correlate(Application)
        .scalar_subquery()
    )
    row = db.session.execute(
        select(Application, ServiceContract)
        .outerjoin(ServiceContract, ServiceContract.pk == latest)
        .where(Application.client_id == client_id)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def resolve_purpose(contract, requested):
    """The purpose of a call touching personal data (``GRU-Purpose``).

    One of the contract's purposes; the contract's only purpose when none is given.
    """
    if contract is None:
        raise Forbidden("The application has no service contract: it may not touch personal data.")
    if not requested:
        if len(contract.purposes) == 1:
            return contract.purposes[0]
        raise PurposeRequired(
            f"State the purpose of this call in the GRU-Purpose header, one of: {', '.join(contract.purposes)}."
        )
    if requested not in contract.purposes:
        raise Forbidden(f"The purpose {requested!r} is not in this application's contract.")
    return requested


def check_case_reference(raw):
    if raw is None:
        return None
    if len(raw) > MAX_CASE_REF_LENGTH or not raw.isprintable():
        raise ValidationFailed({"GRU-Case-Ref": [f"A printable text of at most {MAX_CASE_REF_LENGTH} characters."]})
    return raw
