"""Key-encryption key providers of gru/crypto.py: the key file, the environment, memory."""

import base64
import json
import os
import stat

import pytest

from gru.crypto import (
    EnvironmentKeyProvider,
    KeyFileProvider,
    MemoryKeyProvider,
    generate_key_material,
    key_provider_for,
    write_key_file,
)
from gru.errors import ConfigurationError


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "keys.json"
    write_key_file(str(path), generate_key_material())
    return str(path)


def test_key_file_rotation_adds_a_version_and_keeps_the_file_private(key_file):
    provider = KeyFileProvider(key_file)
    assert provider.current_version() == 1
    assert provider.create_version() == 2
    assert sorted(provider.keys()) == [1, 2] and provider.current_version() == 2
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    provider.retire(1)
    assert sorted(json_versions(key_file)) == [2]
    assert json.load(open(key_file))["signing_keys"]  # the rest of the file is kept


def json_versions(path):
    return [entry["version"] for entry in json.load(open(path))["key_encryption_keys"]]


def test_another_process_rotation_is_followed(key_file):
    """A web worker's provider sees the version made by `gru keys rotate` in another process."""
    worker, command = KeyFileProvider(key_file), KeyFileProvider(key_file)
    assert worker.current_version() == 1
    command.create_version()
    assert worker.current_version() == 2
    command.retire(1)
    assert sorted(worker.keys()) == [2]


def test_environment_keys_are_read_only(monkeypatch):
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    provider = key_provider_for({"GRU_KEY_ENCRYPTION_KEYS": {"3": key}, "GRU_KEY_FILE": "/nonexistent"})
    assert isinstance(provider, EnvironmentKeyProvider) and provider.current_version() == 3
    with pytest.raises(ConfigurationError, match="GRU_KEY_ENCRYPTION_KEYS"):
        provider.create_version()
    with pytest.raises(ConfigurationError):
        provider.key(1)


def test_missing_key_file_says_to_run_init(tmp_path):
    with pytest.raises(ConfigurationError, match="gru init"):
        KeyFileProvider(str(tmp_path / "none.json")).keys()


def test_memory_twin():
    provider = MemoryKeyProvider()
    assert provider.create_version() == 2
    provider.retire(1)
    assert list(provider.keys()) == [2]
