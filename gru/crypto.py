"""The hub's keys: the instance key file and what is derived from it.

The key file (``GRU_KEY_FILE``, default ``keys.json`` in the instance folder, mode 0600)
holds the RSA keys the hub signs its tokens and journal seals with, the versioned
key-encryption keys (KEK) that wrap per-object data keys (envelope encryption), and a
secret for keyed hashes and the session cookie. It is created by ``gru init`` and never
written to the database or a log.
"""

import base64
import json
import os
import secrets
import uuid
from datetime import datetime, timezone

from joserfc.jwk import KeySet, RSAKey

from gru.errors import ConfigurationError

KEY_FILE_FORMAT = 1


def _b64(data):
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text.encode("ascii"))


def new_signing_key():
    """A fresh RSA-2048 signing key as a private JWK with a random ``kid``."""
    kid = uuid.uuid4().hex[:16]
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    return key.as_dict(private=True)


def generate_key_material():
    """Everything a new instance needs, as the JSON-serialisable key-file content."""
    now = datetime.now(timezone.utc).isoformat()
    return {
        "format": KEY_FILE_FORMAT,
        "created_at": now,
        "signing_keys": [new_signing_key()],
        "key_encryption_keys": [{"version": 1, "key": _b64(secrets.token_bytes(32)), "created_at": now}],
        "hmac_key": _b64(secrets.token_bytes(32)),
        "session_secret": _b64(secrets.token_bytes(32)),
    }


def write_key_file(path, material):
    """Write ``material`` to ``path`` readable by its owner only (mode 0600), atomically."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    temporary = path + ".tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(material, handle, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


class KeyRing:
    """The keys of one hub instance, loaded from the key file."""

    def __init__(self, material):
        self._material = material
        signing = material.get("signing_keys") or []
        if not signing:
            raise ConfigurationError("the key file holds no signing key")
        self._signing_keys = [RSAKey.import_key(jwk) for jwk in signing]
        # Built once: every token the API has not seen yet is checked against it.
        self._public_key_set = KeySet.import_key_set(self.public_jwks())

    @classmethod
    def load(cls, path):
        try:
            with open(path) as handle:
                material = json.load(handle)
        except FileNotFoundError:
            raise ConfigurationError(f"no key file at {path}: run `gru init` first") from None
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the key file {path}: {exc.__class__.__name__}") from None
        return cls(material)

    @property
    def signing_key(self):
        """The key new tokens and seals are signed with: the newest one."""
        return self._signing_keys[-1]

    @property
    def signing_kid(self):
        return self.signing_key.kid

    def public_jwks(self):
        """The public half of every signing key, as a JWKS document (RFC 7517 section 5)."""
        return {"keys": [key.as_dict(private=False) for key in self._signing_keys]}

    def public_key_set(self):
        return self._public_key_set

    @property
    def hmac_key(self):
        return _unb64(self._material["hmac_key"])

    @property
    def session_secret(self):
        return _unb64(self._material["session_secret"])

    def key_encryption_keys(self):
        """{version: 32-byte key} of every key-encryption key, oldest first."""
        return {entry["version"]: _unb64(entry["key"]) for entry in self._material["key_encryption_keys"]}
