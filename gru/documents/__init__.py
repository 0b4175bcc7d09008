"""The document vault: supporting documents collected once, encrypted, verified, reused, purged.

``init_app`` builds the vault of an app (document types, storage backend, key provider)
and registers what other packages learn from it without importing it: the proof status
of values (``gru.proof_expired``, read by :func:`gru.identity.schemas.party_document`)
and its per-party tables, which merges move (:func:`gru.identity.search.merge.register_party_table`).
"""

import logging
from dataclasses import dataclass

from flask import current_app

log = logging.getLogger(__name__)


@dataclass
class Vault:
    types: dict
    storage: object
    keys: object
    is_encrypted: bool
    max_bytes: int
    clamd: str | None
    clamd_timeout: int


def init_app(app):
    from gru.crypto import key_provider_for
    from gru.documents.catalogue import load_document_types
    from gru.documents.storage import build_storage
    from gru.extensions import db

    app.extensions["gru.documents"] = Vault(
        types=load_document_types(app.config["GRU_DOCUMENTS_RETENTION_DAYS"]),
        storage=build_storage(app.config, lambda: db.session),
        keys=key_provider_for(app.config),
        is_encrypted=bool(app.config["GRU_DOCUMENTS_ENCRYPTION"]),
        max_bytes=int(app.config["GRU_DOCUMENTS_MAX_BYTES"]),
        clamd=app.config["GRU_DOCUMENTS_CLAMD"],
        clamd_timeout=int(app.config["GRU_DOCUMENTS_CLAMD_TIMEOUT"]),
    )
    if not app.config["GRU_DOCUMENTS_ENCRYPTION"]:
        log.warning("GRU_DOCUMENTS_ENCRYPTION is off: new documents are stored in clear (benchmark baseline only)")
    from gru.documents.retention import expired_document_ids

    app.extensions["gru.proof_expired"] = expired_document_ids
    from gru.identity.search.merge import register_party_table

    # a merge moves a party's documents and their reuse log to the survivor (issue 6)
    register_party_table(app, "documents", "uploaded_at", author_columns=("uploaded_by_type", "uploaded_by_id"))
    register_party_table(app, "document_reuses", "reused_at")
    from gru.documents.api import UPLOAD_ENDPOINT
    from gru.rest.content import accept_raw_body

    accept_raw_body(app, UPLOAD_ENDPOINT)


def vault():
    """The vault of the current app."""
    return current_app.extensions["gru.documents"]
