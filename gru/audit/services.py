"""Use cases of the access journal with the instance's own keys: seal, verify, export.

The command line (:mod:`gru.audit.cli`) and the worker (:mod:`gru.worker`) call these; they
flush, never commit: the edge commits once. Seals are signed with the instance's newest
signing key (RFC 7515 JWS, RS256) and verified with every public key of the key file, so a
seal made before a key rotation still verifies.
"""

from flask import current_app

from gru.audit.chain import VerificationReport, verify_journal
from gru.audit.journal import JoseSigner, export_seals, public_keys_from_jwks, seal_journal
from gru.audit.models import JournalSeal
from gru.extensions import db


def _keyring():
    """The instance's KeyRing; ``ConfigurationError`` before ``gru init`` made the key file."""
    from gru.app import require_keyring

    return require_keyring(current_app)


def seal_now() -> JournalSeal | None:
    """Seal the journal's head with the instance signing key; ``None`` if nothing is new.

    Raises ``RuntimeError`` on a damaged journal (see :func:`seal_journal`).
    """
    signer = JoseSigner(_keyring().signing_key.as_dict(private=True))
    return seal_journal(db.session, signer)


def _read_only_session():
    """The session, its transaction marked read-only when this starts it (the command
    line): on SQLite a long read then never holds the write lock
    (:data:`gru.app.SQLITE_READ_ONLY`). A page that already read goes on in its own."""
    from gru.app import SQLITE_READ_ONLY

    if not db.session().in_transaction():
        db.session.connection(execution_options={SQLITE_READ_ONLY: True})
    return db.session


def verify_now(external_seals=None) -> VerificationReport:
    """Verify the whole journal with the instance's public keys, plus ``external_seals``."""
    public_keys = public_keys_from_jwks(_keyring().public_jwks())
    return verify_journal(_read_only_session(), public_keys, external_seals=external_seals)


def exported_seals():
    """Every seal as one JSON line, oldest first (:func:`export_seals`)."""
    return export_seals(_read_only_session())
