"""Fixtures of the vault tests: an application whose contract allows documents, a person,
sample files of each accepted type, and a way to swap the storage or the keys."""

import pytest

from gru.crypto import MemoryKeyProvider
from gru.documents.storage import FilesystemStorage, MemoryStorage
from gru.extensions import db
from tests.factories.auth import fetch_token, make_application
from tests.factories.identity import make_party

MARKER = b"GRU-VAULT-MARKER-7f3a9c-CONFIDENTIEL"
ALL_TYPES = ["identity_card", "passport", "residence_permit", "proof_of_address", "birth_certificate",
             "family_record_book", "company_register_extract", "association_statutes", "bank_details",
             "tax_notice", "other"]


def vault_contract(catalogue, document_types=ALL_TYPES, purposes=("test",), **extra):
    from gru.auth.contracts import full_access_document

    return {**full_access_document(catalogue, purposes=list(purposes)), "document_types": list(document_types), **extra}


def pdf(size=4096, marker=MARKER):
    """A PDF-looking file of ``size`` bytes carrying ``marker`` (repeated)."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + marker + b"\n"
    body = (marker + b" ") * (size // (len(marker) + 1) + 1)
    return (head + body)[:size]


SAMPLES = {
    "application/pdf": b"%PDF-1.4\n" + b"x" * 100,
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"j" * 100,
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"p" * 100,
    "image/tiff": b"II*\x00\x08\x00\x00\x00" + b"t" * 100,
    "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"h" * 100,
}


@pytest.fixture
def catalogue(app):
    return app.extensions["gru.catalogue"]


@pytest.fixture
def vault(app):
    return app.extensions["gru.documents"]


@pytest.fixture
def memory_keys(vault, monkeypatch):
    keys = MemoryKeyProvider()
    monkeypatch.setattr(vault, "keys", keys)
    return keys


@pytest.fixture
def memory_storage(vault, monkeypatch):
    storage = MemoryStorage()
    monkeypatch.setattr(vault, "storage", storage)
    return storage


@pytest.fixture
def filesystem_storage(vault, monkeypatch, tmp_path):
    storage = FilesystemStorage(tmp_path / "documents")
    monkeypatch.setattr(vault, "storage", storage)
    return storage


@pytest.fixture
def make_token(client, db_session, catalogue):
    """``make_token(code, document_types=..., scopes=...)``: a real token of a new application."""

    def make(code="caf", document_types=ALL_TYPES, scopes=None, purposes=("test",), **extra):
        application = make_application(code, scopes=scopes, contract=vault_contract(
            catalogue, document_types, purposes, **extra))
        return {"Authorization": f"Bearer {fetch_token(client, *application)}"}

    return make


@pytest.fixture
def headers(make_token):
    return make_token("portail")


@pytest.fixture
def person(db_session):
    party = make_party()
    db.session.flush()
    return party


@pytest.fixture
def upload(client, headers, person):
    """``upload(content, type=..., content_type=..., party=..., headers=..., **query)``: the response."""

    def send(content=None, type="identity_card", content_type="application/pdf", party=None, headers=headers, **query):
        content = pdf() if content is None else content
        party_id = (party or person).id
        return client.post(
            f"/api/v1/parties/{party_id}/documents",
            query_string={"type": type, **query},
            data=content,
            headers={**headers, "Content-Type": content_type},
        )

    return send
