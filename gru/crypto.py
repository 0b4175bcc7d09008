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


# -- key-encryption keys: providers and rotation -------------------------------------------
#
# Envelope encryption (NIST SP 800-57 part 1, key wrapping): each document has its own data
# key; a key-encryption key (KEK) with a version wraps it. Rotating adds a version and
# re-wraps data keys; a version is retired only when no data key needs it any more.


class KeyProvider:
    """Where the key-encryption keys come from. ``keys()`` is {version: 32 bytes}."""

    #: whether :meth:`create_version` and :meth:`retire` can change the keys themselves
    is_writable = False

    def keys(self):
        raise NotImplementedError

    def current_version(self):
        """The version that wraps new data keys: the highest one."""
        versions = self.keys()
        if not versions:
            raise ConfigurationError("no key-encryption key is configured")
        return max(versions)

    def key(self, version):
        try:
            return self.keys()[version]
        except KeyError:
            raise ConfigurationError(f"key-encryption key version {version} is not available") from None

    def create_version(self):
        raise ConfigurationError(
            "these key-encryption keys are read from the environment: add a new version to "
            "GRU_KEY_ENCRYPTION_KEYS, then run `gru keys rotate` again"
        )

    def retire(self, version):
        raise ConfigurationError(
            "these key-encryption keys are read from the environment: remove the version from GRU_KEY_ENCRYPTION_KEYS"
        )


class MemoryKeyProvider(KeyProvider):
    """The in-memory twin, for tests."""

    is_writable = True

    def __init__(self, keys=None):
        self._keys = dict(keys or {1: secrets.token_bytes(32)})

    def keys(self):
        return dict(self._keys)

    def create_version(self):
        version = max(self._keys, default=0) + 1
        self._keys[version] = secrets.token_bytes(32)
        return version

    def retire(self, version):
        self._keys.pop(version, None)


class EnvironmentKeyProvider(KeyProvider):
    """``GRU_KEY_ENCRYPTION_KEYS``: {"VERSION": "base64url key"}; read-only."""

    def __init__(self, mapping):
        try:
            self._keys = {int(version): _unb64(key) for version, key in mapping.items()}
        except (AttributeError, ValueError, TypeError):
            raise ConfigurationError("GRU_KEY_ENCRYPTION_KEYS must map versions to base64url keys") from None
        if any(len(key) != 32 for key in self._keys.values()):
            raise ConfigurationError("every key of GRU_KEY_ENCRYPTION_KEYS must be 32 bytes (AES-256)")

    def keys(self):
        return dict(self._keys)


class KeyFileProvider(KeyProvider):
    """The instance key file (embedded default); rotation rewrites it atomically (0600).

    The keys are read again whenever the file changed (its modification time and size), so
    that every web worker follows a `gru keys rotate` or `gru keys retire` run by another
    process: none keeps wrapping with a retired version or fails on a new one.
    """

    is_writable = True

    def __init__(self, path):
        self.path = path
        self._keys = None
        self._stamp = None

    def _material(self):
        try:
            with open(self.path) as handle:
                return json.load(handle)
        except FileNotFoundError:
            raise ConfigurationError(f"no key file at {self.path}: run `gru init` first") from None
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the key file {self.path}: {exc.__class__.__name__}") from None

    def _file_stamp(self):
        try:
            status = os.stat(self.path)
        except OSError:
            return None
        return status.st_mtime_ns, status.st_size, status.st_ino

    def keys(self):
        stamp = self._file_stamp()
        if self._keys is None or stamp != self._stamp:
            material = self._material()
            self._keys = {entry["version"]: _unb64(entry["key"]) for entry in material["key_encryption_keys"]}
            self._stamp = stamp
        return dict(self._keys)

    def create_version(self):
        material = self._material()
        entries = material["key_encryption_keys"]
        version = max((entry["version"] for entry in entries), default=0) + 1
        entries.append({
            "version": version,
            "key": _b64(secrets.token_bytes(32)),
            "created_at": datetime.now(timezone.utc).isoformat(),
        })
        write_key_file(self.path, material)
        self._keys = None
        return version

    def retire(self, version):
        material = self._material()
        material["key_encryption_keys"] = [
            entry for entry in material["key_encryption_keys"] if entry["version"] != version
        ]
        write_key_file(self.path, material)
        self._keys = None


def key_provider_for(config):
    """The provider chosen by configuration: the environment's keys when set, else the key file."""
    if config.get("GRU_KEY_ENCRYPTION_KEYS"):
        return EnvironmentKeyProvider(config["GRU_KEY_ENCRYPTION_KEYS"])
    return KeyFileProvider(config["GRU_KEY_FILE"])


#: ``app.extensions`` key: the packages whose secrets the key-encryption keys wrap besides
#: the vault's data keys, as ``{name: usage}``, ``usage()`` giving ``{version: count}``
KEY_USERS = "gru.key_users"


def register_key_user(app, name, usage):
    """Tell ``gru keys retire`` that ``name`` (e.g. the connectors' configurations) has
    secrets wrapped by key-encryption keys: a version still in its ``usage()`` is kept."""
    app.extensions.setdefault(KEY_USERS, {})[name] = usage


def key_users(app):
    return app.extensions.get(KEY_USERS, {})
