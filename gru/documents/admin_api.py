"""Admin API of the vault (scope ``admin``): key rotation and the retention purge.

No personal data here: what is answered is key versions, counts, and the ids, types and
retention dates of documents, never their content or their party.
"""

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import fields

from gru.auth.bearer import require_scope
from gru.documents import keys as key_service
from gru.documents.retention import purge_documents
from gru.extensions import db

blp = Blueprint("vault-admin", __name__, url_prefix="/api/v1/vault", description="Vault keys and retention")
ADMIN = "admin"


class KeyVersionSchema(ma.Schema):
    version = fields.Integer()
    data_keys = fields.Integer(metadata={"description": "Data keys this version wraps"})


class KeyListSchema(ma.Schema):
    current_version = fields.Integer()
    items = fields.List(fields.Nested(KeyVersionSchema))


class RotationSchema(ma.Schema):
    version = fields.Integer()
    is_new_version = fields.Boolean()
    rewrapped = fields.Integer()


class PurgeQuerySchema(ma.Schema):
    dry_run = fields.Boolean(load_default=False)


class PurgedSchema(ma.Schema):
    id = fields.UUID()
    type = fields.String()
    purge_after = fields.Date()


class PurgeSchema(ma.Schema):
    dry_run = fields.Boolean()
    items = fields.List(fields.Nested(PurgedSchema))


def _key_list():
    usage = key_service.key_usage()
    return {"current_version": key_service.vault().keys.current_version(),
            "items": [{"version": version, "data_keys": count} for version, count in usage.items()]}


@blp.route("/keys", methods=["GET"])
@require_scope(ADMIN, personal_data=False)
@blp.response(200, KeyListSchema)
def list_keys():
    """Key-encryption key versions and how many data keys each wraps."""
    return _key_list()


@blp.route("/keys/rotation", methods=["POST"])
@require_scope(ADMIN, personal_data=False)
@blp.response(200, RotationSchema)
def rotate():
    """New key-encryption key version (key file), then every data key re-wrapped with it."""
    rotation = key_service.rotate_keys()
    db.session.commit()
    return {"version": rotation.version, "is_new_version": rotation.is_new_version, "rewrapped": rotation.rewrapped}


@blp.route("/keys/<int:version>", methods=["DELETE"])
@require_scope(ADMIN, personal_data=False)
@blp.response(204)
@blp.alt_response(404, "NOT_FOUND")
@blp.alt_response(409, "CONFLICT")
def retire(version):
    """Retire a version; 409 while a data key uses it, or for the newest."""
    key_service.retire_key(version)


@blp.route("/purge", methods=["POST"])
@require_scope(ADMIN, personal_data=False)
@blp.arguments(PurgeQuerySchema, location="query")
@blp.response(200, PurgeSchema)
def purge(query):
    """Purge the documents past retention (content and wrapped key); ``dry_run``: only list them."""
    documents = purge_documents(dry_run=query["dry_run"])
    if not query["dry_run"]:
        db.session.commit()
    return {"dry_run": query["dry_run"],
            "items": [{"id": item.id, "type": item.type, "purge_after": item.purge_after} for item in documents]}
