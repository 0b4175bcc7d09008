"""``gru documents`` and ``gru keys`` as an agent and an administrator run them, on a real
instance (subprocesses, embedded SQLite), and the done-when scan: a marker planted in an
uploaded document is found neither in the database files nor in the storage folder."""

import os
import sqlite3
import subprocess
import uuid

import pytest

from tests.documents.conftest import MARKER, SAMPLES, pdf
from tests.test_cli import COMMAND, assert_one_line_error, database_bytes, initialised_template  # noqa: F401


def run(instance, *args, **settings):
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GRU_", "FLASK_"))}
    env["GRU_INSTANCE_PATH"] = str(instance)
    env.update(settings)
    return subprocess.run([*COMMAND, *args], env=env, cwd=instance.parent, capture_output=True, text=True, timeout=120)


def ok(result):
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def instance(initialised_template, tmp_path):  # noqa: F811
    import shutil

    target = tmp_path / "instance"
    shutil.copytree(initialised_template, target)
    ok(run(target, "demo"))
    ok(run(target, "agents", "create", "marie", "--role", "agent", "--oidc-subject", "sub-marie"))
    return target


def a_person(instance):
    with sqlite3.connect(instance / "gru.sqlite3") as connection:
        (raw,) = connection.execute("SELECT id FROM parties WHERE kind = 'person' ORDER BY pk LIMIT 1").fetchone()
    return str(uuid.UUID(raw))


@pytest.mark.parametrize("storage", ["database", "filesystem"])
def test_upload_verify_download_rotate_purge_and_no_plaintext_anywhere(instance, tmp_path, storage):
    settings = {"GRU_DOCUMENTS_STORAGE": storage}
    party_id = a_person(instance)
    source = tmp_path / "carte.pdf"
    content = pdf(500_000)
    source.write_bytes(content)
    agent = ("--agent", "marie")

    uploaded = ok(run(instance, "documents", "upload", party_id, str(source), "--type", "identity_card",
                      "--expires-on", "2035-01-01", *agent, **settings))
    document_id = uploaded.split("\t")[0]
    assert "application/pdf" in uploaded and f"{len(content)} bytes" in uploaded
    assert document_id in ok(run(instance, "documents", "list", party_id, *agent, **settings))
    verified = ok(run(instance, "documents", "verify", document_id, "--status", "verified",
                      "--method", "authoritative_source", *agent, **settings))
    assert "verified; certified" in verified and "family_name" in verified

    output = tmp_path / "copy.pdf"
    ok(run(instance, "documents", "download", document_id, str(output), *agent, "--case-ref", "DOS-1", **settings))
    assert output.read_bytes() == content
    reuses = ok(run(instance, "documents", "reuses", party_id, *agent, **settings))
    assert "agent:marie\tdocuments\tDOS-1" in reuses

    # Done-when: the marker is nowhere at rest, in the database files or the storage folder.
    assert MARKER not in database_bytes(instance)
    stored = [path for path in (instance / "documents").rglob("*") if path.is_file()]
    assert bool(stored) == (storage == "filesystem")
    assert all(MARKER not in path.read_bytes() for path in stored)

    rotated = ok(run(instance, "keys", "rotate", **settings))
    assert "created version 2; re-wrapped 1 data keys" in rotated
    assert ok(run(instance, "keys", "list", **settings)) == "version 1\t0 data keys\nversion 2\t1 data keys\n"
    assert "newest" in assert_one_line_error(run(instance, "keys", "retire", "2", **settings))
    ok(run(instance, "keys", "retire", "1", **settings))
    ok(run(instance, "documents", "download", document_id, str(output), *agent, **settings))
    assert output.read_bytes() == content

    with sqlite3.connect(instance / "gru.sqlite3") as connection:
        journaled = connection.execute(
            "SELECT action, purpose, case_ref FROM journal_entries WHERE actor_id = 'marie' ORDER BY seq").fetchall()
    assert [row[0] for row in journaled] == [
        "documents:document:upload", "documents:document:list", "documents:document:verify",
        "documents:document:download", "documents:reuse:list", "documents:document:download"]
    assert journaled[3][1:] == ("documents", "DOS-1")

    assert ok(run(instance, "documents", "purge", "--dry-run", **settings)) == "would purge: 0 documents\n"
    assert ok(run(instance, "documents", "expire", **settings)) == "expired: 0 documents flagged\n"


def test_errors_are_one_line(instance, tmp_path):
    party_id = a_person(instance)
    agent = ("--agent", "marie")
    png = tmp_path / "scan.pdf"
    png.write_bytes(SAMPLES["image/png"])
    assert "not the declared application/pdf" in assert_one_line_error(
        run(instance, "documents", "upload", party_id, str(png), "--type", "identity_card", *agent))
    assert "Unknown document type" in assert_one_line_error(
        run(instance, "documents", "upload", party_id, str(png), "--type", "permis", *agent))
    assert "No active agent" in assert_one_line_error(
        run(instance, "documents", "list", party_id, "--agent", "nobody"))
    assert_one_line_error(run(instance, "documents", "download", str(uuid.uuid4()), "-", *agent))


def test_altered_content_fails_the_download_with_one_line(instance, tmp_path):
    settings = {"GRU_DOCUMENTS_STORAGE": "filesystem"}
    party_id = a_person(instance)
    source = tmp_path / "justificatif.pdf"
    source.write_bytes(pdf(90_000))
    document_id = ok(run(instance, "documents", "upload", party_id, str(source), "--type", "proof_of_address",
                         "--agent", "marie", **settings)).split("\t")[0]
    (path,) = [path for path in (instance / "documents").rglob("*") if path.is_file()]
    data = bytearray(path.read_bytes())
    data[70_000] ^= 0x01
    path.write_bytes(bytes(data))

    output = tmp_path / "out.pdf"
    line = assert_one_line_error(run(instance, "documents", "download", document_id, str(output),
                                     "--agent", "marie", **settings))
    assert "Segment 1" in line and "integrity check" in line
    assert not output.exists()
