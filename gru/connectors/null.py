"""The ``null`` connector: records what it would send, for development and tests.

Every message is appended to :attr:`NullConnector.sent` (per instance name, in the
process) and logged as one line without personal data (event id, type, party id).
Configuration ``fail_with`` makes it answer as a failing receiver would: ``retry`` or
``failed``.
"""

import logging
import threading
from collections import defaultdict

import marshmallow as ma
from marshmallow import fields, validate

from gru.connectors.base import Connector, Outcome

log = logging.getLogger("gru.connectors.null")


class NullConfigSchema(ma.Schema):
    fail_with = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["retry", "failed"]))
    #: a dummy secret, so that masking can be seen in development
    token = fields.String(load_default=None, allow_none=True)


class NullConnector(Connector):
    type = "null"
    description = "records what it would send (development and tests)"
    config_schema = NullConfigSchema
    secret_fields = ("token",)

    #: instance name -> [Message], shared by every object of the process
    sent = defaultdict(list)
    _lock = threading.Lock()

    def deliver(self, message):
        failure = self.config.get("fail_with")
        if failure == "retry":
            return Outcome.retry("null connector configured to fail (retry)")
        if failure == "failed":
            return Outcome.failed("null connector configured to fail")
        with self._lock:
            self.sent[self.name].append(message)
        log.info("null connector %s: %s %s of party %s", self.name, message.type, message.event_id, message.party_id)
        return Outcome.delivered(receipt={"recorded": True})
