"""Registering applications."""

import re
import secrets

from sqlalchemy import select

from gru.auth.models import SCOPES, Application, hash_client_secret
from gru.errors import Conflict, NotFound, ValidationFailed
from gru.extensions import db

APPLICATION_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$")


def register_application(code, name, scopes=None, client_id=None):
    """Register a business application. Returns ``(application, client_secret)``.

    The secret is returned this once; only its hash is stored. ``client_id`` names an
    application whose tokens come from a trusted external issuer (the ``client_id``,
    ``azp`` or ``sub`` of its tokens); by default the hub makes one up.
    """
    errors = {}
    if not APPLICATION_CODE.match(code or ""):
        errors["code"] = ["1 to 64 lowercase letters, digits, - or _, starting with a letter or digit."]
    name = (name or code or "").strip()
    if not name or len(name) > 200 or not name.isprintable():
        errors["name"] = ["A printable name of 1 to 200 characters."]
    scopes = list(scopes or SCOPES)
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        errors["scope"] = [f"Unknown scope {', '.join(unknown)}; known: {', '.join(SCOPES)}."]
    if client_id is not None and not CLIENT_ID.match(client_id):
        errors["client_id"] = ["1 to 128 letters, digits or . _ : @ / -"]
    if errors:
        raise ValidationFailed(errors)
    if db.session.scalar(select(Application).where(Application.code == code)) is not None:
        raise Conflict(f"An application with code {code!r} is already registered.")
    if client_id and db.session.scalar(select(Application).where(Application.client_id == client_id)) is not None:
        raise Conflict(f"An application with client id {client_id!r} is already registered.")
    secret = secrets.token_urlsafe(32)
    application = Application(
        code=code,
        name=name,
        client_id=client_id or f"{code}-{secrets.token_hex(4)}",
        client_secret_hash=hash_client_secret(secret),
        scopes=" ".join(sorted(set(scopes))),
    )
    db.session.add(application)
    db.session.flush()
    return application, secret


def find_application_by_client_id(client_id):
    return db.session.scalar(select(Application).where(Application.client_id == client_id))


def list_applications():
    return list(db.session.scalars(select(Application).order_by(Application.code)))


def get_application(code):
    application = db.session.scalar(select(Application).where(Application.code == code))
    if application is None:
        raise NotFound(f"No application has code {code!r}.")
    return application


def reset_client_secret(code):
    """Replace an application's secret. Returns ``(application, client_secret)``."""
    application = get_application(code)
    secret = secrets.token_urlsafe(32)
    application.client_secret_hash = hash_client_secret(secret)
    db.session.flush()
    return application, secret
