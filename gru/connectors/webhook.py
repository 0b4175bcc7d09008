"""The ``webhook`` connector: each event POSTed as a CloudEvents 1.0 JSON document.

- Body: CloudEvents 1.0 structured mode, JSON event format (``application/cloudevents+json``,
  CloudEvents spec section 3.1 and JSON format section 3): ``specversion``, ``id`` (the
  event id: the same on every retry, so receivers drop duplicates by it), ``source`` (the
  hub's URL), ``type`` (``gru.`` + the event type, e.g. ``gru.party.updated``), ``subject``
  (the party id), ``time``, ``datacontenttype``, the ``sequence`` extension (the party's
  event number, a string as the Sequence extension says) and ``data``: the payload as the
  application's contract lets it see it.
- Signature: Standard Webhooks 1.0 (standardwebhooks.com): headers ``webhook-id`` (the
  event id), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, a
  space-separated list of ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, one
  per configured secret (``whsec_`` + base64), so that a receiver rotating its secret
  accepts either during the rotation.
- Authentication: a bearer token from the application's identity provider
  (:mod:`gru.connectors.oauth`), renewed and retried once on a 401.
"""

import base64
import hashlib
import hmac
import json
import time

import marshmallow as ma
from marshmallow import fields, validate

from gru.connectors.base import Connector
from gru.connectors.oauth import TOKEN_SECRET_FIELDS, TokenConfigSchema, token_source_for

SECRET_PREFIX = "whsec_"
CONTENT_TYPE = "application/cloudevents+json"


def _check_secret(value):
    if not value.startswith(SECRET_PREFIX):
        raise ma.ValidationError("A Standard Webhooks secret: whsec_ followed by base64.")
    try:
        key = base64.b64decode(value[len(SECRET_PREFIX):], validate=True)
    except ValueError:
        raise ma.ValidationError("A Standard Webhooks secret: whsec_ followed by base64.") from None
    if not 24 <= len(key) <= 64:
        raise ma.ValidationError("The secret must be 24 to 64 bytes once decoded.")


def new_secret():
    """A fresh ``whsec_`` secret of 32 random bytes."""
    import secrets

    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookConfigSchema(TokenConfigSchema):
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    #: signing secrets, newest first; each signs every message (key rotation)
    secrets = fields.List(fields.String(validate=_check_secret), required=True,
                          validate=validate.Length(1, 5))


def sign(secrets_, message_id, timestamp, body):
    """The ``webhook-signature`` header value (Standard Webhooks, "Signature scheme")."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    signatures = []
    for secret in secrets_:
        key = base64.b64decode(secret[len(SECRET_PREFIX):])
        digest = hmac.new(key, signed, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode())
    return " ".join(signatures)


def cloudevent(message, source):
    """The CloudEvents 1.0 JSON document of ``message``."""
    return {
        "specversion": "1.0",
        "id": message.event_id,
        "source": source,
        "type": f"gru.{message.type}",
        "subject": message.party_id,
        "time": message.occurred_at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "sequence": str(message.sequence),
        "data": message.payload,
    }


class WebhookConnector(Connector):
    type = "webhook"
    description = "POSTs CloudEvents 1.0 JSON signed per Standard Webhooks, with a bearer token"
    config_schema = WebhookConfigSchema
    secret_fields = ("secrets", *TOKEN_SECRET_FIELDS)

    def __init__(self, name, config, **kwargs):
        super().__init__(name, config, **kwargs)
        self.tokens = token_source_for(config, self.timeout)
        self.clock = time.time

    def deliver(self, message):
        body = json.dumps(cloudevent(message, self.base_url or "urn:gru"), separators=(",", ":"),
                          ensure_ascii=False).encode()
        timestamp = str(int(self.clock()))
        headers = {
            "Content-Type": CONTENT_TYPE,
            "webhook-id": message.event_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": sign(self.config["secrets"], message.event_id, timestamp, body),
        }
        _response, outcome = self.http("POST", self.config["url"], auth=self.tokens, data=body, headers=headers)
        return outcome
