"""Registered business applications, the OAuth2 clients of the hub's token endpoint."""

import hashlib
import hmac

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gru.dbtypes import BigIntPK, JSONValue, UTCDateTime, utcnow
from gru.extensions import db

#: scope -> what it allows
SCOPES = {
    "parties:read": "read golden records, their history, links and references",
    "parties:write": "create and update golden records, links and references",
    "parties:merge": "merge duplicate parties and undo merges (supervisors' work)",
    "documents:read": "list and download the supporting documents the contract's document types allow",
    "documents:write": "upload supporting documents of the contract's document types",
    "documents:verify": "mark documents of the contract's document types verified or rejected",
    "admin": "manage applications and their service contracts (no personal data)",
}


def hash_client_secret(secret):
    """SHA-256 of a generated secret.

    Client secrets are 256 random bits made by the hub, not passwords people choose:
    a slow password hash protects guessable secrets and would only slow every token
    request here. The clear secret is shown once and never stored.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Application(db.Model, ClientMixin):
    __tablename__ = "applications"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def scope_list(self):
        return self.scopes.split()

    # authlib ClientMixin: the client-credentials grant only.
    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        """RFC 6749 section 3.3: grant the requested scopes the client has, or all of them."""
        allowed = self.scope_list
        if not scope:
            return " ".join(allowed)
        return " ".join(item for item in scope.split() if item in allowed)

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(hash_client_secret(client_secret), self.client_secret_hash)

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return self.is_active and grant_type == "client_credentials"


RIGHTS = ("read", "write", "search")
#: rights on a party's consents (``consents`` of a contract): see them, record them
CONSENT_RIGHTS = ("read", "write")


class ServiceContract(db.Model):
    """What one application may do (DESIGN.md "service contract"). Versioned: a change
    is a new row with the next version; the highest version is in force."""

    __tablename__ = "service_contracts"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    application_pk: Mapped[int] = mapped_column(ForeignKey("applications.pk"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    purposes: Mapped[list] = mapped_column(JSONValue)
    party_kinds: Mapped[list] = mapped_column(JSONValue)
    #: attribute key -> list of rights among RIGHTS
    attributes: Mapped[dict] = mapped_column(JSONValue)
    max_level: Mapped[int] = mapped_column(Integer)
    document_types: Mapped[list] = mapped_column(JSONValue)
    events: Mapped[list] = mapped_column(JSONValue)
    #: rights among CONSENT_RIGHTS on the consents of the parties it covers
    consents: Mapped[list] = mapped_column(JSONValue, default=list)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("application_pk", "version"),)

    def rights(self, key):
        return self.attributes.get(key, ())

    def may_read(self, key):
        return "read" in self.rights(key)

    def may_write(self, key):
        return "write" in self.rights(key)

    def may_search(self, key):
        return "search" in self.rights(key)

    def may_read_consents(self):
        return "read" in (self.consents or ())

    def may_write_consents(self):
        return "write" in (self.consents or ())

    def as_document(self):
        return {
            "version": self.version,
            "purposes": list(self.purposes),
            "party_kinds": list(self.party_kinds),
            "attributes": {key: list(rights) for key, rights in self.attributes.items()},
            "max_level": self.max_level,
            "document_types": list(self.document_types),
            "events": list(self.events),
            "consents": list(self.consents or ()),
            "created_by": self.created_by,
            "created_at": self.created_at,
        }
