"""The ``gru`` command as an administrator runs it.

Each test runs the installed console script (``gru`` beside the Python running pytest) in
a subprocess, with ``GRU_INSTANCE_PATH`` pointing at a temporary folder and every other
``GRU_*`` and ``FLASK_*`` variable removed from its environment: what is asserted is what
the administrator sees (exit status, standard output, standard error, files on disk),
tracebacks included. The database is the embedded SQLite file of the instance.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gru.app import create_app
from gru.extensions import db

GRU = Path(sys.executable).with_name("gru")
ROOT = str(Path(__file__).resolve().parent.parent)
COMMAND = [str(GRU)] if GRU.exists() else [sys.executable, "-c", "import sys; from gru.cli import main; sys.argv[0] = 'gru'; main()"]


def gru(instance, *args):
    """Run ``gru ARGS`` on the instance folder; returns the CompletedProcess."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GRU_", "FLASK_"))}
    env["GRU_INSTANCE_PATH"] = str(instance)
    # The command runs in another folder: a relative PYTHONPATH (".") would import the
    # installed hub, not this checkout's.
    env["PYTHONPATH"] = os.pathsep.join([ROOT, *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run(
        [*COMMAND, *args], env=env, cwd=instance.parent, capture_output=True, text=True, timeout=120
    )


def assert_one_line_error(result):
    """README: an error ends a command with one line on standard error and exit status 1."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert result.stdout == ""
    return lines[0]


def database_bytes(instance):
    """Everything SQLite wrote for the instance: the database file, its WAL and shared memory."""
    return b"".join(path.read_bytes() for path in sorted(instance.glob("gru.sqlite3*")))


@pytest.fixture(scope="session")
def initialised_template(tmp_path_factory):
    """An instance folder after ``gru init``, made once and copied by each test."""
    instance = tmp_path_factory.mktemp("template") / "instance"
    result = gru(instance, "init")
    assert result.returncode == 0, result.stderr
    return instance


@pytest.fixture
def instance(tmp_path):
    """Where the test's instance lives; not created."""
    return tmp_path / "instance"


@pytest.fixture
def initialised(initialised_template, instance):
    shutil.copytree(initialised_template, instance)
    return instance


@pytest.fixture
def portail(initialised):
    """Credentials printed by ``gru apps create portail``."""
    result = gru(initialised, "apps", "create", "portail", "--name", "Portail citoyen")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def token_status(instance, client_id, secret):
    """Status of POST /oauth/token with these credentials, on a hub built on the instance."""
    app = create_app(
        {
            "GRU_INSTANCE_PATH": str(instance),
            "GRU_DATABASE_URL": f"sqlite:///{instance}/gru.sqlite3",
            "GRU_KEY_FILE": str(instance / "keys.json"),
        }
    )
    try:
        response = app.test_client().post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        return response.status_code
    finally:
        with app.app_context():
            db.engine.dispose()


# gru init


def test_init_creates_instance_keys_and_schema(instance):
    result = gru(instance, "init")

    assert result.returncode == 0, result.stderr
    assert instance.is_dir()
    assert stat.S_IMODE(instance.stat().st_mode) & 0o077 == 0
    key_file = instance / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert json.loads(key_file.read_text())["signing_keys"]
    assert f"keys: created {key_file}" in result.stdout
    assert "is up to date" in result.stdout
    listed = gru(instance, "apps", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == ""


def test_second_init_keeps_the_key_file(initialised):
    key_file = initialised / "keys.json"
    before = key_file.read_bytes()

    result = gru(initialised, "init")

    assert result.returncode == 0, result.stderr
    assert f"keys: kept {key_file}" in result.stdout
    assert key_file.read_bytes() == before
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


# gru apps


def test_apps_create_prints_credentials_once(initialised, portail):
    assert portail["code"] == "portail"
    assert portail["client_id"].startswith("portail-")
    assert len(portail["client_secret"]) >= 32
    assert portail["token_endpoint"].endswith("/oauth/token")
    assert set(portail["scope"].split()) >= {"parties:read", "parties:write"}


def test_the_secret_is_not_stored_in_clear(initialised, portail):
    stored = database_bytes(initialised)

    assert portail["client_id"].encode() in stored
    assert portail["client_secret"].encode() not in stored
    for path in initialised.rglob("*"):
        if path.is_file():
            assert portail["client_secret"].encode() not in path.read_bytes(), path


def test_apps_list_shows_the_code_not_the_secret(initialised, portail):
    result = gru(initialised, "apps", "list")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].split("\t")[:2] == ["portail", portail["client_id"]]
    assert lines[0].endswith("active")
    assert portail["client_secret"] not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["apps", "create", "portail"], "already registered"),
        (["apps", "create", "Bad Code!"], "code:"),
        (["apps", "create", "teleservices", "--scope", "everything"], "scope:"),
        (["apps", "reset-secret", "unknown"], "unknown"),
    ],
    ids=["duplicate-code", "invalid-code", "unknown-scope", "reset-unknown-code"],
)
def test_apps_errors_are_one_line(initialised, portail, args, message):
    result = gru(initialised, *args)

    line = assert_one_line_error(result)
    assert message in line
    listed = gru(initialised, "apps", "list").stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in listed] == ["portail"]


def test_reset_secret_replaces_the_secret(initialised, portail):
    result = gru(initialised, "apps", "reset-secret", "portail")

    assert result.returncode == 0, result.stderr
    renewed = json.loads(result.stdout)
    assert renewed["client_id"] == portail["client_id"]
    assert renewed["client_secret"] and renewed["client_secret"] != portail["client_secret"]
    assert renewed["client_secret"].encode() not in database_bytes(initialised)
    assert token_status(initialised, portail["client_id"], portail["client_secret"]) == 401
    assert token_status(initialised, renewed["client_id"], renewed["client_secret"]) == 200


# gru demo


def test_demo_loads_once(initialised):
    first = gru(initialised, "demo")
    second = gru(initialised, "demo")

    assert first.returncode == 0, first.stderr
    loaded = re.fullmatch(r"demo: loaded (\d+) parties", first.stdout.strip())
    assert loaded and int(loaded.group(1)) > 0, first.stdout
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "demo: already loaded"


# Before gru init

@pytest.mark.parametrize(
    "args",
    [["apps", "list"], ["apps", "create", "portail"], ["apps", "reset-secret", "portail"], ["demo"]],
    ids=["apps-list", "apps-create", "apps-reset-secret", "demo"],
)
def test_commands_before_init_fail_with_one_line(instance, args):
    instance.mkdir()

    result = gru(instance, *args)

    assert "gru init" in assert_one_line_error(result)


def test_commands_without_instance_folder_fail_with_one_line(instance):
    result = gru(instance, "apps", "list")

    assert "gru init" in assert_one_line_error(result)


def test_full_access_contract_covers_every_document_type(initialised, portail):
    """The demo application of scripts/serve can try the vault with its token."""
    assert gru(initialised, "contracts", "set", "portail", "--full-access", "--purpose", "demo").returncode == 0
    shown = gru(initialised, "contracts", "show", "portail")
    assert shown.returncode == 0, shown.stderr
    contract = json.loads(shown.stdout)
    assert {"identity_card", "proof_of_address", "bank_details"} <= set(contract["document_types"])
    assert contract["purposes"] == ["demo"]
