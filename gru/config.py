"""Every setting of the hub.

Each setting is named ``GRU_...``, read from the environment (or from the mapping
given to :func:`gru.app.create_app`), and has a default that works on one machine:
the embedded SQLite database and key file in the instance folder.
"""

import json
import os

DEFAULTS = {
    # Folder holding the embedded database, the key file and uploaded content.
    # Default: ./instance under the current directory.
    "GRU_INSTANCE_PATH": os.path.abspath("instance"),
    # SQLAlchemy URL of the database. Default: SQLite file gru.sqlite3 in the instance folder.
    "GRU_DATABASE_URL": None,
    # Public base URL of the hub, used as the issuer of its own tokens and in printed links.
    "GRU_BASE_URL": "http://127.0.0.1:5000",
    # Audience the hub's API expects in access tokens (RFC 9068 section 2.2 `aud`).
    "GRU_API_AUDIENCE": "gru-api",
    # Lifetime in seconds of the access tokens issued by /oauth/token.
    "GRU_ACCESS_TOKEN_LIFETIME": 900,
    # Path of the key file (signing keys, key-encryption keys). Default: keys.json in the
    # instance folder, created by `gru init` with mode 0600.
    "GRU_KEY_FILE": None,
    # Other trusted token issuers, a JSON list of objects {"issuer", "jwks_uri" or
    # "discovery_url", "audience" (default GRU_API_AUDIENCE), "algorithms" (default
    # ["RS256"])}. The hub itself is always trusted.
    "GRU_TRUSTED_ISSUERS": [],
    # Extra attribute definitions: path of a JSON file in the format of
    # gru/identity/data/attributes.json, added to the built-in catalogue.
    "GRU_ATTRIBUTES_FILE": None,
    # Seconds an application's contract and state are cached per process: a contract
    # change or a disabled application takes effect within this delay (0: no cache).
    "GRU_CONTRACT_CACHE_SECONDS": 10,
    # Page size of lists when the caller does not give `limit`, and its maximum.
    "GRU_PAGE_SIZE": 50,
    "GRU_PAGE_SIZE_MAX": 500,
    # Secret key of the Flask session (agents' pages). Default: derived from the key file.
    "GRU_SECRET_KEY": None,
    # How agents sign in to the pages: "local" (accounts made by `gru agents create`) or
    # "oidc" (the provider below). Only that method is offered, never both. Default: local.
    "GRU_AGENT_LOGIN": "local",
    # OpenID Connect provider of the agents (GRU_AGENT_LOGIN=oidc): discovery URL, client id
    # and secret of the hub at that provider (authorization code flow with PKCE).
    "GRU_OIDC_DISCOVERY_URL": None,
    "GRU_OIDC_CLIENT_ID": None,
    "GRU_OIDC_CLIENT_SECRET": None,
    # Code of the application whose service contract agents act under. Default: desk.
    "GRU_DESK_APPLICATION": "desk",
    # Minutes of inactivity after which an agent's session ends. Default: 30.
    "GRU_AGENT_SESSION_MINUTES": 30,
    # Send the session cookie over HTTPS only. Default: true, unless GRU_BASE_URL is
    # http://127.0.0.1 or http://localhost (a hub tried on one machine).
    "GRU_SESSION_COOKIE_SECURE": None,
    # Seconds between two seals of the access journal by `gru worker`. Default: one hour.
    "GRU_JOURNAL_SEAL_INTERVAL": 3600,
    # -- document vault (gru/documents) --
    # Where document content (always encrypted, see GRU_DOCUMENTS_ENCRYPTION) is kept:
    # "database" (rows of the document_chunks table: the embedded default), "filesystem"
    # (files under GRU_DOCUMENTS_FOLDER), "s3" (S3-compatible object storage, needs the
    # `s3` extra: boto3) or "memory" (tests only: lost when the process ends).
    "GRU_DOCUMENTS_STORAGE": "database",
    # Folder of the filesystem storage. Default: documents/ in the instance folder.
    "GRU_DOCUMENTS_FOLDER": None,
    # S3 storage: bucket (required), endpoint URL (default: AWS), region, and an optional key
    # prefix. Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID...), never from here.
    "GRU_DOCUMENTS_S3_BUCKET": None,
    "GRU_DOCUMENTS_S3_ENDPOINT": None,
    "GRU_DOCUMENTS_S3_REGION": None,
    "GRU_DOCUMENTS_S3_PREFIX": "documents/",
    # Largest accepted document in bytes; a larger upload is refused with 413. Default: 20 MB.
    "GRU_DOCUMENTS_MAX_BYTES": 20 * 1024 * 1024,
    # clamd address for the malware scan of every upload: "tcp://HOST:PORT" or
    # "unix:///path/clamd.ctl". Default: none (no scan).
    "GRU_DOCUMENTS_CLAMD": None,
    # Seconds the hub waits for clamd before refusing the upload. Default: 30.
    "GRU_DOCUMENTS_CLAMD_TIMEOUT": 30,
    # Retention period per document type, overriding the catalogue: a JSON object
    # {"tax_notice": 365, ...} of days (gru/documents/data/document_types.json has the defaults).
    "GRU_DOCUMENTS_RETENTION_DAYS": {},
    # Seconds between two runs of the document jobs of `gru worker` (expiry flags, then the
    # purge of documents past retention). Default: one hour.
    "GRU_DOCUMENTS_JOB_INTERVAL": 3600,
    # Seconds between two runs of the duplicate-detection job of `gru worker`, which
    # proposes suspected pairs for the parties changed since its last run. Default: 5 min.
    "GRU_DUPLICATES_JOB_INTERVAL": 300,
    # Processes an initial load (`gru import --initial-load`) shares the matching of its
    # lines among, each a fork of the command; 1: no fork. Default: the CPUs the command
    # may use, at most 4 (each fork copies the memory pages it touches: about 2.4 GB each for a
    # file of 1,000,000 lines).
    "GRU_IMPORT_PROCESSES": None,
    # Encrypt document content (envelope encryption, AES-256-GCM). Always on; "false" exists
    # only for the benchmark's baseline (scripts/bench/vault.py) and must never be used
    # with real documents.
    "GRU_DOCUMENTS_ENCRYPTION": True,
    # Key-encryption keys from the environment instead of the key file: a JSON object
    # {"VERSION": "base64url 32-byte key", ...}; the highest version wraps new data keys.
    # Default: none (the key file's key_encryption_keys).
    "GRU_KEY_ENCRYPTION_KEYS": None,
    # -- connectors (gru/connectors) --
    # Connector types to load, by their name in the `gru.connectors` entry-point group,
    # comma- or space-separated. Instances of other types stay in the database, unused.
    # Default: the built-in webhook, scim and null.
    "GRU_CONNECTORS_ENABLED": "webhook,scim,null",
    # Deliveries sent at the same time by one `gru worker` (threads); one connector
    # instance uses at most half of them. Default: 8.
    "GRU_CONNECTORS_CONCURRENCY": 8,
    # Seconds each outbound HTTP call of a connector (token fetch included) may take. Default: 10.
    "GRU_CONNECTORS_TIMEOUT": 10.0,
    # Seconds after an event during which a failing delivery is retried; past it the
    # delivery is dead (a dead letter, replayable). Default: 72 hours.
    "GRU_CONNECTORS_RETRY_HORIZON": 72 * 3600,
    # Seconds before the first retry; each next one waits twice as long (half of it random
    # jitter), at most an hour. Default: 5.
    "GRU_CONNECTORS_BACKOFF_BASE": 5.0,
    # Deliveries claimed at most by one claim of a worker. Default: 100.
    "GRU_CONNECTORS_BATCH_SIZE": 100,
    # Seconds the worker waits before looking again for due deliveries when there were
    # none. Default: 0.2.
    "GRU_CONNECTORS_POLL_INTERVAL": 0.2,
    # Seconds between two checks by `gru worker` that its delivery loop runs (it starts at
    # once and is restarted if it died). Default: 30.
    "GRU_CONNECTORS_JOB_INTERVAL": 30,
}

# Settings whose environment value is JSON rather than a plain string.
_JSON_SETTINGS = {"GRU_TRUSTED_ISSUERS", "GRU_DOCUMENTS_RETENTION_DAYS", "GRU_KEY_ENCRYPTION_KEYS"}
_INT_SETTINGS = {"GRU_CONTRACT_CACHE_SECONDS", "GRU_ACCESS_TOKEN_LIFETIME", "GRU_PAGE_SIZE", "GRU_PAGE_SIZE_MAX",
                 "GRU_JOURNAL_SEAL_INTERVAL", "GRU_AGENT_SESSION_MINUTES", "GRU_DOCUMENTS_MAX_BYTES",
                 "GRU_DOCUMENTS_CLAMD_TIMEOUT", "GRU_DOCUMENTS_JOB_INTERVAL",
                 "GRU_CONNECTORS_CONCURRENCY", "GRU_CONNECTORS_RETRY_HORIZON", "GRU_CONNECTORS_BATCH_SIZE",
                 "GRU_CONNECTORS_JOB_INTERVAL", "GRU_DUPLICATES_JOB_INTERVAL", "GRU_IMPORT_PROCESSES"}
_FLOAT_SETTINGS = {"GRU_CONNECTORS_TIMEOUT", "GRU_CONNECTORS_BACKOFF_BASE", "GRU_CONNECTORS_POLL_INTERVAL"}


def load_settings(overrides=None):
    """Return the settings: defaults, then ``GRU_*`` environment variables, then ``overrides``."""
    settings = dict(DEFAULTS)
    for name in DEFAULTS:
        raw = os.environ.get(name)
        if raw is None:
            continue
        if name in _JSON_SETTINGS:
            settings[name] = json.loads(raw)
        elif name in _INT_SETTINGS:
            settings[name] = int(raw)
        elif name in _FLOAT_SETTINGS:
            settings[name] = float(raw)
        else:
            settings[name] = raw
    settings.update(overrides or {})
    instance_path = settings["GRU_INSTANCE_PATH"] = os.path.abspath(settings["GRU_INSTANCE_PATH"])
    if not settings["GRU_DATABASE_URL"]:
        settings["GRU_DATABASE_URL"] = "sqlite:///" + os.path.join(instance_path, "gru.sqlite3")
    if not settings["GRU_KEY_FILE"]:
        settings["GRU_KEY_FILE"] = os.path.join(instance_path, "keys.json")
    if not settings["GRU_DOCUMENTS_FOLDER"]:
        settings["GRU_DOCUMENTS_FOLDER"] = os.path.join(instance_path, "documents")
    encryption = settings["GRU_DOCUMENTS_ENCRYPTION"]
    if isinstance(encryption, str):
        settings["GRU_DOCUMENTS_ENCRYPTION"] = encryption.strip().lower() not in ("0", "false", "no", "off")
    secure = settings["GRU_SESSION_COOKIE_SECURE"]
    if secure is None:
        secure = not settings["GRU_BASE_URL"].startswith(("http://127.0.0.1", "http://localhost"))
    elif isinstance(secure, str):
        secure = secure.strip().lower() not in ("0", "false", "no", "off", "")
    settings["GRU_SESSION_COOKIE_SECURE"] = secure
    return settings
