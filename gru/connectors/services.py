"""Connector instances: create, read (secrets masked), update, delete.

An instance's configuration is validated by its type's marshmallow schema, then stored
encrypted as a whole (envelope encryption, NIST SP 800-57 part 1: a fresh AES-256-GCM data
key per write, wrapped by the current key-encryption key of :mod:`gru.crypto`, both bound
to the instance id). Read back, every field the type names in ``secret_fields`` is
replaced by :data:`MASK`; an update that sends :data:`MASK` back keeps the stored secret.
Services flush, never commit.
"""

import json
import os
import re
import uuid

import marshmallow as ma
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import select

from gru.auth.services import get_application
from gru.connectors.models import ConnectorInstance
from gru.crypto import key_provider_for
from gru.dbtypes import utcnow
from gru.documents.encryption import unwrap_data_key, wrap_data_key
from gru.errors import ConfigurationError, Conflict, NotFound, ValidationFailed
from gru.extensions import db

MASK = "********"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CONFIG_AAD = b"gru-connector-config-v1"


def extension():
    """The connectors' state of the current app (:func:`gru.connectors.init_app`)."""
    return current_app.extensions["gru.connectors"]


def connector_types():
    return extension().types


def connector_type(name):
    types = connector_types()
    if name not in types:
        raise ValidationFailed({"type": [f"Unknown or disabled connector type; enabled: {', '.join(types) or 'none'}."]})
    return types[name]


def _keys():
    return key_provider_for(current_app.config)


def _seal(instance, config):
    provider = _keys()
    version = provider.current_version()
    data_key = AESGCM.generate_key(256)
    nonce = os.urandom(12)
    plaintext = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    instance.config_ciphertext = nonce + AESGCM(data_key).encrypt(nonce, plaintext, _CONFIG_AAD + instance.id.bytes)
    instance.wrapped_key = wrap_data_key(provider.key(version), version, instance.id, data_key)
    instance.kek_version = version


def decrypt_config(instance):
    """The instance's configuration in clear (secrets included): for the dispatcher only."""
    data_key = unwrap_data_key(_keys().key(instance.kek_version), instance.kek_version, instance.id,
                               instance.wrapped_key)
    stored = instance.config_ciphertext
    try:
        plaintext = AESGCM(data_key).decrypt(stored[:12], stored[12:], _CONFIG_AAD + instance.id.bytes)
    except InvalidTag:
        raise ConfigurationError(f"the configuration of connector {instance.name} does not decrypt") from None
    return json.loads(plaintext)


def mask(cls, config):
    """``config`` with every secret field of ``cls`` replaced by :data:`MASK`."""
    masked = dict(config)
    for key in cls.secret_fields:
        value = masked.get(key)
        if isinstance(value, list):
            masked[key] = [MASK for _ in value]
        elif value is not None:
            masked[key] = MASK
    return masked


def _validate(cls, config):
    if not isinstance(config, dict):
        raise ValidationFailed({"config": ["A JSON object."]})
    try:
        return cls.config_schema().load(config)
    except ma.ValidationError as error:
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        raise ValidationFailed(
            {f"config.{key}": value if isinstance(value, list) else [str(value)] for key, value in messages.items()},
            detail="The connector configuration is invalid.",
        ) from None


def _keep_masked_secrets(cls, given, stored):
    """An update may send :data:`MASK` back for a secret: the stored one is kept."""
    merged = dict(given)
    for key in cls.secret_fields:
        value = merged.get(key)
        old = stored.get(key)
        if value == MASK:
            merged[key] = old
        elif isinstance(value, list) and isinstance(old, list):
            merged[key] = [old[i] if item == MASK and i < len(old) else item for i, item in enumerate(value)]
    return merged


def _check_purpose(application, purpose):
    if purpose is None:
        return None
    from gru.auth.contracts import current_contract

    contract = current_contract(application)
    if contract is None or purpose not in contract.purposes:
        raise ValidationFailed({"purpose": ["One of the purposes of the application's contract."]})
    return purpose


def create_instance(name, type_, application_code, config, purpose=None, is_enabled=True):
    """Configure a connection of type ``type_`` to ``application_code``; returns the row."""
    if not isinstance(name, str) or not NAME.match(name):
        raise ValidationFailed({"name": ["1 to 64 lowercase letters, digits, - or _."]})
    cls = connector_type(type_)
    application = get_application(application_code)
    if db.session.scalar(select(ConnectorInstance.pk).where(ConnectorInstance.name == name)) is not None:
        raise Conflict(f"A connector instance named {name!r} exists already.")
    loaded = _validate(cls, config)
    instance = ConnectorInstance(id=uuid.uuid4(), name=name, type=type_, application_pk=application.pk,
                                 purpose=_check_purpose(application, purpose), is_enabled=is_enabled)
    _seal(instance, loaded)
    db.session.add(instance)
    db.session.flush()
    extension().forget_subscriptions()
    return instance


def get_instance(name):
    instance = db.session.scalar(select(ConnectorInstance).where(ConnectorInstance.name == name))
    if instance is None:
        raise NotFound("No connector instance has this name.")
    return instance


def list_instances():
    return list(db.session.scalars(select(ConnectorInstance).order_by(ConnectorInstance.name)))


def update_instance(name, *, config=None, purpose=..., is_enabled=None):
    """Replace the configuration (secrets sent as :data:`MASK` are kept), purpose, state."""
    instance = get_instance(name)
    if config is not None:
        cls = connector_type(instance.type)
        merged = _keep_masked_secrets(cls, config, decrypt_config(instance))
        _seal(instance, _validate(cls, merged))
    if purpose is not ...:
        instance.purpose = _check_purpose(instance.application, purpose)
    if is_enabled is not None:
        instance.is_enabled = bool(is_enabled)
    instance.updated_at = utcnow()
    db.session.flush()
    extension().forget_subscriptions()
    return instance


def delete_instance(name):
    """Remove the instance and its deliveries (their events stay in the outbox)."""
    from gru.connectors.models import Delivery

    instance = get_instance(name)
    db.session.execute(Delivery.__table__.delete().where(Delivery.__table__.c.instance_pk == instance.pk))
    db.session.delete(instance)
    db.session.flush()
    extension().forget_subscriptions()


def rekey_instances():
    """Seal every configuration under the current key-encryption key version; returns how
    many were sealed under another one. Run after ``gru keys rotate`` (which re-wraps the
    documents' data keys) and before ``gru keys retire``. The ``updated_at`` is left as it
    is: the configuration itself does not change."""
    current = _keys().current_version()
    count = 0
    for instance in db.session.scalars(select(ConnectorInstance).where(ConnectorInstance.kek_version != current)):
        _seal(instance, decrypt_config(instance))
        count += 1
    db.session.flush()
    return count


def key_versions_in_use():
    """``{key-encryption key version: instances}`` of the connector configurations."""
    from sqlalchemy import func

    return dict(db.session.execute(
        select(ConnectorInstance.kek_version, func.count()).group_by(ConnectorInstance.kek_version)
    ).all())


def instance_document(instance):
    """The instance as read back by the CLI and the API: secrets masked."""
    cls = connector_types().get(instance.type)
    config = decrypt_config(instance)
    return {
        "name": instance.name,
        "id": instance.id,
        "type": instance.type,
        "application": instance.application.code,
        "purpose": instance.purpose,
        "is_enabled": instance.is_enabled,
        "is_loaded": cls is not None,
        "config": mask(cls, config) if cls is not None else {key: MASK for key in config},
        "created_at": instance.created_at,
        "updated_at": instance.updated_at,
    }


def type_document(name, cls):
    schema = cls.config_schema()
    return {
        "name": name,
        "description": cls.description or (cls.__doc__ or "").strip().splitlines()[0] if (cls.description or cls.__doc__) else "",
        "fields": sorted(schema.fields),
        "secret_fields": list(cls.secret_fields),
    }
