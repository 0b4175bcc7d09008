"""The upload service itself: it streams, and leaves nothing behind on failure."""

import io

import pytest
from sqlalchemy import select

from gru.documents import services
from gru.documents.encryption import SEGMENT_SIZE
from gru.documents.models import Document
from gru.errors import Forbidden
from gru.events.services import events_of, record_event
from gru.extensions import db
from tests.documents.conftest import pdf

AGENT = services.DocumentActor(type="agent", id="agent-test")


class CountingStream(io.BytesIO):
    """A request body that remembers how much each read asked for."""

    def __init__(self, data):
        super().__init__(data)
        self.requests = []

    def read(self, size=-1):
        self.requests.append(size)
        return super().read(size)


def request(**fields):
    return services.UploadRequest(**{"type": "identity_card", "content_type": "application/pdf", **fields})


def test_the_body_is_read_in_bounded_pieces(person, memory_storage):
    stream = CountingStream(pdf(SEGMENT_SIZE * 10 + 17))
    document = services.upload_document(person.id, stream, request(), AGENT)
    assert all(0 < size <= SEGMENT_SIZE for size in stream.requests)
    assert document.segment_count == 11
    assert [len(segment) for segment in memory_storage.objects[document.storage_key]][-1] == 12 + 17 + 16


def test_a_failure_after_storing_removes_the_content(person, memory_storage, monkeypatch):
    def failing_flush(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "flush", failing_flush)
    with pytest.raises(RuntimeError):
        services.upload_document(person.id, io.BytesIO(pdf(200_000)), request(), AGENT)
    assert memory_storage.objects == {}


def test_an_actor_outside_its_types_or_kinds_is_refused(person, memory_storage):
    with pytest.raises(Forbidden):
        services.upload_document(person.id, io.BytesIO(pdf()), request(),
                                 services.DocumentActor(type="application", id="x", document_types=("tax_notice",)))
    with pytest.raises(Forbidden):
        services.upload_document(person.id, io.BytesIO(pdf()), request(),
                                 services.DocumentActor(type="application", id="x", party_kinds=("company",)))
    assert memory_storage.objects == {}


def test_baseline_without_encryption_stores_plaintext(person, memory_storage, vault, monkeypatch):
    """GRU_DOCUMENTS_ENCRYPTION=false exists for the benchmark's baseline only."""
    monkeypatch.setattr(vault, "is_encrypted", False)
    document = services.upload_document(person.id, io.BytesIO(pdf(100_000)), request(), AGENT)
    assert (document.is_encrypted, document.wrapped_key, document.kek_version) == (False, None, None)
    assert b"".join(services.content_of(document)) == pdf(100_000)


def test_events_are_numbered_per_party(person):
    first = record_event(db.session, "document.verified", person, {"a": 1})
    second = record_event(db.session, "document.expired", person, {"b": 2})
    # sequence 1 is the person's party.created
    assert (first.sequence, second.sequence) == (2, 3)
    assert [event.type for event in events_of(person.id)] == ["party.created", "document.verified", "document.expired"]
    with pytest.raises(ValueError):
        record_event(db.session, "Document Verified", person, {})
    assert db.session.scalar(select(Document.pk)) is None
