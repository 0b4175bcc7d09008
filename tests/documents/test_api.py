"""The vault through the REST API, with real tokens from the hub's /oauth/token."""

import hashlib
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gru.audit.models import JournalEntry
from gru.documents.models import Document, DocumentChunk
from gru.documents.storage import DatabaseStorage
from gru.extensions import db
from tests.api_helpers import assert_problem
from tests.documents.conftest import MARKER, SAMPLES, pdf


def journal(action):
    return list(db.session.scalars(select(JournalEntry).where(JournalEntry.action == action).order_by(JournalEntry.seq)))


def test_upload_then_download_round_trip(client, headers, upload, person):
    content = pdf(300_000)
    response = upload(content, issued_on="2024-01-10", expires_on="2034-01-09",
                      issuing_authority="Haut-commissariat", filename="../../etc/carte identité.pdf")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["type"] == "identity_card" and body["status"] == "pending"
    assert body["content_type"] == "application/pdf" and body["size_bytes"] == len(content)
    assert body["filename"] == "carte identité.pdf"
    assert response.headers["Location"].endswith(f"/api/v1/documents/{body['id']}")
    (entry,) = journal("documents:document:upload")
    assert entry.party_id == str(person.id) and entry.attribute_keys == [f"document:{body['id']}"]

    metadata = client.get(f"/api/v1/documents/{body['id']}", headers=headers)
    assert metadata.get_json()["id"] == body["id"] and metadata.get_json()["party_id"] == str(person.id)
    (entry,) = journal("documents:document:read")
    assert entry.attribute_keys == [f"document:{body['id']}"]

    download = client.get(f"/api/v1/documents/{body['id']}/content",
                          headers={**headers, "GRU-Case-Ref": "RSA-2026-0042"})
    assert download.status_code == 200
    assert download.data == content
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Length"] == str(len(content))
    assert "attachment" in download.headers["Content-Disposition"]
    (entry,) = journal("documents:document:download")
    assert (entry.purpose, entry.case_ref, entry.actor_id) == ("test", "RSA-2026-0042", "portail")


@pytest.mark.parametrize("content_type", sorted(SAMPLES))
def test_each_accepted_type_is_recognised_from_its_bytes(upload, content_type):
    response = upload(SAMPLES[content_type], type="other", content_type=content_type)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["content_type"] == content_type


def test_declared_type_must_match_the_bytes(upload):
    body = assert_problem(upload(SAMPLES["image/png"], content_type="application/pdf"), 415)
    assert "image/png" in body["detail"]
    assert db.session.scalar(select(Document.pk)) is None


def test_unknown_content_is_refused(upload):
    assert_problem(upload(b"MZ\x90\x00 an executable" * 10, content_type="application/pdf"), 415)
    assert db.session.scalar(select(DocumentChunk.index)) is None


def test_too_large_is_413_and_nothing_is_stored(app, upload, monkeypatch, vault):
    monkeypatch.setattr(vault, "max_bytes", 100_000)
    assert_problem(upload(pdf(100_001)), 413)
    assert db.session.scalar(select(DocumentChunk.index)) is None
    assert upload(pdf(100_000)).status_code == 201


def test_too_large_without_content_length_is_found_while_streaming(vault, monkeypatch, person):
    """A chunked body has no length: the limit is checked as the bytes arrive."""
    import io

    from gru.documents import services
    from gru.documents.checks import TooLarge

    monkeypatch.setattr(vault, "max_bytes", 200_000)
    request = services.UploadRequest(type="identity_card", content_type="application/pdf")
    actor = services.DocumentActor(type="agent", id="agent-test")
    with pytest.raises(TooLarge):
        services.upload_document(person.id, io.BytesIO(pdf(300_000)), request, actor)
    assert db.session.scalar(select(DocumentChunk.index)) is None


def test_duplicate_is_recognised_by_keyed_hash(upload):
    first = upload(pdf(5000))
    body = assert_problem(upload(pdf(5000)), 409)
    assert body["existing_document_id"] == first.get_json()["id"]
    assert db.session.scalar(select(Document.content_hmac)) != hashlib.sha256(pdf(5000)).hexdigest()


def test_invalid_metadata_is_422(upload):
    assert_problem(upload(type="driving_licence"), 422)
    assert_problem(upload(issued_on="2030-01-01", expires_on="2020-01-01"), 422)
    assert_problem(upload(b""), 422)


def test_type_not_applying_to_the_party_kind_is_422(upload):
    body = assert_problem(upload(type="company_register_extract"), 422)
    assert "type" in body["errors"]


def test_unknown_party_is_404(upload, client, headers):
    class Missing:
        id = uuid.uuid4()

    assert_problem(upload(party=Missing()), 404)
    assert_problem(client.get(f"/api/v1/documents/{uuid.uuid4()}", headers=headers), 404)


def test_json_bodies_are_still_required_elsewhere(client, headers):
    response = client.post("/api/v1/parties", data=b"%PDF-", headers={**headers, "Content-Type": "application/pdf"})
    assert_problem(response, 415)


def test_contract_gates_types_for_listing_and_download(client, upload, make_token, person):
    card = upload(type="identity_card").get_json()["id"]
    address = upload(pdf(2000, b"ADDRESS"), type="proof_of_address").get_json()["id"]
    caf = make_token("caf", document_types=["proof_of_address"])

    listed = client.get(f"/api/v1/parties/{person.id}/documents", headers=caf)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.get_json()["items"]] == [address]
    (entry,) = journal("documents:document:list")
    assert entry.actor_id == "caf" and entry.attribute_keys == [f"document:{address}"]

    assert client.get(f"/api/v1/documents/{address}/content", headers=caf).data.startswith(b"%PDF-")
    assert_problem(client.get(f"/api/v1/documents/{card}/content", headers=caf), 403)
    assert_problem(client.get(f"/api/v1/documents/{card}", headers=caf), 403)
    assert_problem(client.get(f"/api/v1/parties/{person.id}/documents?type=identity_card", headers=caf), 403)
    assert len(journal("documents:document:download")) == 1


def test_uploading_a_type_outside_the_contract_is_403(upload, make_token):
    assert_problem(upload(headers=make_token("caf", document_types=["tax_notice"])), 403)


def test_scopes_are_required(upload, make_token, client):
    read_only = make_token("lecteur", scopes=["documents:read"])
    assert_problem(upload(headers=read_only), 403)


def test_downloads_are_recorded_as_reuses_and_listed(client, upload, make_token, person, headers):
    document_id = upload(type="proof_of_address").get_json()["id"]
    caf = make_token("caf", document_types=["proof_of_address"], purposes=["rsa", "apl"])
    for purpose, case_ref in (("rsa", "RSA-1"), ("apl", "APL-7")):
        response = client.get(f"/api/v1/documents/{document_id}/content",
                              headers={**caf, "GRU-Purpose": purpose, "GRU-Case-Ref": case_ref})
        assert response.status_code == 200 and response.data

    reuses = client.get(f"/api/v1/parties/{person.id}/document-reuses", headers=headers).get_json()["items"]
    assert [(item["actor"]["id"], item["purpose"], item["case_ref"]) for item in reuses] == [
        ("caf", "apl", "APL-7"), ("caf", "rsa", "RSA-1")]
    assert reuses[0]["document_id"] == document_id
    assert len(journal("documents:reuse:list")) == 1


def test_altered_content_fails_the_download_with_a_clear_error(client, upload, headers):
    document_id = upload(pdf(200_000)).get_json()["id"]
    document = db.session.scalar(select(Document).where(Document.id == uuid.UUID(document_id)))
    chunk = db.session.scalar(
        select(DocumentChunk).where(DocumentChunk.storage_key == document.storage_key, DocumentChunk.index == 2))
    altered = bytearray(chunk.data)
    altered[100] ^= 0x04
    db.session.execute(update(DocumentChunk).where(
        DocumentChunk.storage_key == document.storage_key, DocumentChunk.index == 2).values(data=bytes(altered)))

    response = client.get(f"/api/v1/documents/{document_id}/content", headers=headers)

    body = assert_problem(response, 500)
    assert body["type"] == "urn:gru:problem:document-integrity"
    assert "Segment 2" in body["detail"] and "altered" in body["detail"]
    assert journal("documents:document:download") == []


def test_altered_file_on_disk_fails_too(client, upload, headers, filesystem_storage):
    document_id = upload(pdf(70_000)).get_json()["id"]
    (path,) = [p for p in Path(filesystem_storage.folder).rglob("*") if p.is_file()]
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    assert_problem(client.get(f"/api/v1/documents/{document_id}/content", headers=headers), 500)


def test_no_plaintext_in_the_database_or_the_storage_folder(client, upload, headers, filesystem_storage, vault,
                                                          monkeypatch):
    """Done-when: a scan for a marker planted in an uploaded document finds nothing."""
    in_folder = upload(pdf(150_000)).get_json()["id"]
    document = db.session.scalar(select(Document).where(Document.id == uuid.UUID(in_folder)))
    assert MARKER not in document.wrapped_key
    files = [path for path in Path(filesystem_storage.folder).rglob("*") if path.is_file()]
    assert files and all(MARKER not in path.read_bytes() for path in files)
    assert client.get(f"/api/v1/documents/{in_folder}/content", headers=headers).data.count(MARKER) > 1000

    # Database backend: the chunks are ciphertext too, and nothing else holds the marker.
    monkeypatch.setattr(vault, "storage", DatabaseStorage(lambda: db.session))
    in_rows = upload(pdf(150_000, marker=MARKER + b"-db")).get_json()["id"]
    chunks = db.session.scalars(select(DocumentChunk.data)).all()
    assert chunks and all(MARKER not in chunk for chunk in chunks)
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            assert all(MARKER not in (value if isinstance(value, bytes) else str(value).encode()) for value in row)
    assert in_rows


def test_document_types_are_listed(client, headers):
    response = client.get("/api/v1/document-types", headers=headers)
    types = {item["code"]: item for item in response.get_json()["items"]}
    assert len(types) == 11
    assert "postal_address" in types["proof_of_address"]["certifies"]


def test_openapi_documents_the_vault(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/parties/{party_id}/documents" in paths
    assert "/api/v1/documents/{document_id}/verification" in paths


def test_a_failing_commit_leaves_no_content_behind(client, headers, person, filesystem_storage, monkeypatch):
    """Never a half-written document: the files go with the failed transaction."""
    from gru.rest import access

    def broken_journal(*args, **kwargs):
        raise RuntimeError("journal unavailable")

    monkeypatch.setattr(access, "journal", broken_journal)
    response = client.post(f"/api/v1/parties/{person.id}/documents", query_string={"type": "identity_card"},
                           data=pdf(100_000), headers={**headers, "Content-Type": "application/pdf"})
    assert_problem(response, 500)
    assert [path for path in Path(filesystem_storage.folder).rglob("*") if path.is_file()] == []
