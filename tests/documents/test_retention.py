"""Expiry flags, retention purge and key rotation."""

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from gru.documents import keys as key_service
from gru.documents import retention
from gru.documents.catalogue import load_document_types
from gru.documents.models import Document, DocumentChunk
from gru.errors import ConfigurationError, Conflict, NotFound
from gru.events.services import events_of
from gru.extensions import db
from tests.api_helpers import assert_problem
from tests.documents.conftest import pdf

TODAY = date.today()


def stored(document_id):
    return db.session.scalar(select(Document).where(Document.id == uuid.UUID(str(document_id))))


def test_expiry_flags_the_values_it_certified_and_records_an_event(client, headers, upload, person):
    expires = (TODAY + timedelta(days=30)).isoformat()
    document_id = upload(expires_on=expires).get_json()["id"]
    client.post(f"/api/v1/documents/{document_id}/verification", json={"status": "verified", "method": "original_seen"},
                headers=headers)
    assert retention.flag_expired_documents(TODAY) == []

    (flagged,) = retention.flag_expired_documents(TODAY + timedelta(days=31))

    assert str(flagged.id) == document_id
    provenance = client.get(f"/api/v1/parties/{person.id}", headers=headers).get_json()["provenance"]
    assert provenance["family_name"]["proof_expired"] is True
    assert provenance["family_name"]["level"] == 500
    (event,) = events_of(person.id, "document.expired")
    assert event.data["document_id"] == document_id and event.data["expired_on"] == expires
    assert "family_name" in event.data["proof_expired"]
    assert client.get(f"/api/v1/documents/{document_id}", headers=headers).get_json()["is_proof_expired"] is True
    assert retention.flag_expired_documents(TODAY + timedelta(days=32)) == []  # once


def test_retention_runs_from_expiry_or_upload(upload, vault):
    days = vault.types["identity_card"].retention_days
    with_expiry = upload(expires_on="2030-06-01").get_json()
    assert with_expiry["purge_after"] == (date(2030, 6, 1) + timedelta(days=days)).isoformat()
    without = upload(pdf(3000), type="other").get_json()
    assert without["purge_after"] == (TODAY + timedelta(days=vault.types["other"].retention_days)).isoformat()


def test_retention_is_configurable_per_type():
    assert load_document_types({"tax_notice": 30})["tax_notice"].retention_days == 30
    with pytest.raises(ConfigurationError):
        load_document_types({"tax_notice": 0})
    with pytest.raises(ConfigurationError):
        load_document_types({"unknown": 10})


def test_purge_dry_run_then_real(client, headers, upload, person):
    old = upload(issued_on="2000-01-01", expires_on="2001-01-01").get_json()["id"]
    recent = upload(pdf(3000)).get_json()["id"]
    document = stored(old)

    assert [str(item.id) for item in retention.purge_documents(dry_run=True)] == [old]
    assert stored(old).purged_at is None and stored(old).wrapped_key is not None

    assert [str(item.id) for item in retention.purge_documents()] == [old]

    purged = stored(old)
    assert purged.purged_at is not None and purged.wrapped_key is None and purged.kek_version is None
    assert db.session.scalar(select(DocumentChunk.index).where(DocumentChunk.storage_key == document.storage_key)) is None
    assert stored(recent).purged_at is None
    assert_problem(client.get(f"/api/v1/documents/{old}/content", headers=headers), 404)
    listed = client.get(f"/api/v1/parties/{person.id}/documents", headers=headers).get_json()["items"]
    assert [item["id"] for item in listed] == [recent]
    assert [event.type for event in events_of(person.id) if event.type.startswith("document.")] == ["document.purged"]
    assert retention.purge_documents() == []


def test_rotation_rewraps_every_data_key_and_content_still_reads(client, headers, upload, memory_keys):
    first = upload(pdf(70_000)).get_json()["id"]
    second = upload(pdf(3000)).get_json()["id"]
    before = stored(first).wrapped_key
    assert key_service.key_usage() == {1: 2}

    rotation = key_service.rotate_keys()

    assert (rotation.version, rotation.is_new_version, rotation.rewrapped) == (2, True, 2)
    assert key_service.key_usage() == {1: 0, 2: 2}
    assert stored(first).wrapped_key != before and stored(first).kek_version == 2
    assert client.get(f"/api/v1/documents/{first}/content", headers=headers).data == pdf(70_000)
    assert client.get(f"/api/v1/documents/{second}/content", headers=headers).data == pdf(3000)
    key_service.retire_key(1)
    assert list(memory_keys.keys()) == [2]


def test_a_version_in_use_cannot_be_retired(upload, memory_keys):
    upload()
    memory_keys.create_version()  # version 2 exists, nothing re-wrapped yet
    with pytest.raises(Conflict, match="still wraps 1 data keys"):
        key_service.retire_key(1)
    with pytest.raises(Conflict, match="newest"):
        key_service.retire_key(2)
    with pytest.raises(NotFound):
        key_service.retire_key(9)
    assert key_service.rotate_keys(create=False).rewrapped == 1
    key_service.retire_key(1)


def test_environment_keys_rotate_to_the_highest_version(upload, vault, monkeypatch):
    import base64
    import os

    from gru.crypto import EnvironmentKeyProvider

    def b64(key):
        return base64.urlsafe_b64encode(key).decode()

    one, two = os.urandom(32), os.urandom(32)
    monkeypatch.setattr(vault, "keys", EnvironmentKeyProvider({"1": b64(one)}))
    upload()
    monkeypatch.setattr(vault, "keys", EnvironmentKeyProvider({"1": b64(one), "2": b64(two)}))
    rotation = key_service.rotate_keys()
    assert (rotation.version, rotation.is_new_version, rotation.rewrapped) == (2, False, 1)
    with pytest.raises(ConfigurationError, match="environment"):
        key_service.retire_key(1)
    with pytest.raises(ConfigurationError):
        EnvironmentKeyProvider({"1": b64(b"short")})


def test_a_version_sealing_connector_configurations_cannot_be_retired(db_session, memory_keys, monkeypatch):
    """Retiring a key-encryption key that still seals a connector's configuration would
    lose its secrets: refused until ``gru connectors rekey`` seals them again."""
    from gru.connectors import services as connector_service
    from tests.factories.auth import make_application

    monkeypatch.setattr(connector_service, "_keys", lambda: memory_keys)
    make_application("cafat")
    connector_service.create_instance("cafat-null", "null", "cafat", {})
    memory_keys.create_version()

    with pytest.raises(Conflict, match="still seals 1 connectors"):
        key_service.retire_key(1)
    assert connector_service.rekey_instances() == 1
    key_service.retire_key(1)
    assert list(memory_keys.keys()) == [2]
