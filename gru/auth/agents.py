"""Agents: the people who sign in to the hub's pages, and their roles.

An agent signs in either with a local account (an argon2id password hash, RFC 9106) or
through the configured OpenID Connect provider (matched on the ID token's ``sub``), never
both on one hub (``GRU_AGENT_LOGIN``). Agents act under the service contract of the
front-desk application, so the same attribute rules apply to them as to applications.
"""

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CheckConstraint, String, select
from sqlalchemy.orm import Mapped, mapped_column

from gru.dbtypes import BigIntPK, UTCDateTime, utcnow
from gru.errors import Conflict, ValidationFailed
from gru.extensions import db

#: role -> what it may do on the pages
ROLES = {
    "agent": "front desk: read and update records within the desk contract",
    "supervisor": "an agent who may also correct a value below the stored certification level",
    "dpo": "access journal, its verification, reports and registers; no record pages",
    "admin": "applications and their service contracts; no personal data",
}
LOGIN = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,127}$")
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
#: verified against when the login is unknown, so that the answer takes as long
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class Agent(db.Model):
    __tablename__ = "agents"

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    login: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("role IN ('agent', 'supervisor', 'dpo', 'admin')", name="role"),
    )


def create_agent(login, display_name, role, password=None, oidc_subject=None):
    """Register an agent with a local password or an OIDC subject (exactly one)."""
    errors = {}
    login = (login or "").strip().lower()
    if not LOGIN.match(login):
        errors["login"] = ["1 to 128 lowercase letters, digits, '.', '_', '-' or '@'."]
    display_name = (display_name or login).strip()
    if not display_name or len(display_name) > 200 or not display_name.isprintable():
        errors["name"] = ["A printable name of 1 to 200 characters."]
    if role not in ROLES:
        errors["role"] = [f"One of {', '.join(ROLES)}."]
    if (password is None) == (oidc_subject is None):
        errors["credentials"] = ["Give either a password or an OIDC subject."]
    elif password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"At least {MIN_PASSWORD_LENGTH} characters."]
    elif oidc_subject is not None and not (0 < len(oidc_subject) <= 255 and oidc_subject.isprintable()):
        errors["oidc_subject"] = ["A printable subject of 1 to 255 characters."]
    if errors:
        raise ValidationFailed(errors)
    if db.session.scalar(select(Agent).where(Agent.login == login)) is not None:
        raise Conflict(f"An agent with login {login!r} already exists.")
    if oidc_subject is not None and agent_by_oidc_subject(oidc_subject, active_only=False) is not None:
        raise Conflict("Another agent already has this OIDC subject.")
    agent = Agent(
        login=login,
        display_name=display_name,
        role=role,
        password_hash=_hasher.hash(password) if password is not None else None,
        oidc_subject=oidc_subject,
    )
    db.session.add(agent)
    db.session.flush()
    return agent


def authenticate_local(login, password):
    """The active agent with this login and password, or None.

    An unknown login is verified against a dummy hash, so that timing does not tell
    which logins exist (OWASP ASVS 2.2.x, authentication verifier).
    """
    agent = db.session.scalar(select(Agent).where(Agent.login == (login or "").strip().lower()))
    stored = agent.password_hash if agent is not None and agent.password_hash else _DUMMY_HASH
    try:
        _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if agent is None or not agent.password_hash or not agent.is_active:
        return None
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
        db.session.flush()
    return agent


def agent_by_oidc_subject(subject, active_only=True):
    query = select(Agent).where(Agent.oidc_subject == subject)
    if active_only:
        query = query.where(Agent.is_active.is_(True))
    return db.session.scalar(query)


def get_agent(login):
    return db.session.scalar(select(Agent).where(Agent.login == login))


def list_agents():
    return list(db.session.scalars(select(Agent).order_by(Agent.login)))
