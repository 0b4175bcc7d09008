"""Uploads and downloads over real HTTP: a streamed (chunked) body, a streamed answer.

As tests/test_http.py: werkzeug's threaded server on 127.0.0.1 and ``requests``, on a hub
with its own SQLite file (the server threads commit for real). What only a socket shows:
a body sent in chunks without Content-Length, the 413 of one that grows past the limit,
the download's headers as they cross the wire.
"""

import pytest
import requests

from gru.extensions import db
from tests.conftest import build_app, make_instance
from tests.documents.conftest import ALL_TYPES, MARKER, pdf, vault_contract
from tests.factories.auth import make_application
from tests.factories.identity import make_party
from tests.support.live_server import LiveServer

TIMEOUT = 30
LIMIT = 1_000_000


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    instance = make_instance(tmp_path_factory)
    with LiveServer() as server:
        app = build_app(instance, f"sqlite:///{instance}/gru.sqlite3", GRU_BASE_URL=server.url,
                        GRU_DOCUMENTS_MAX_BYTES=LIMIT, GRU_DOCUMENTS_STORAGE="filesystem")
        with app.app_context():
            application, secret = make_application(
                "portail", contract=vault_contract(app.extensions["gru.catalogue"], ALL_TYPES))
            server.party_id = make_party().id
            db.session.commit()
        server.start(app)
        token = requests.post(f"{server.url}/oauth/token", data={"grant_type": "client_credentials"},
                              auth=(application.client_id, secret), timeout=TIMEOUT).json()["access_token"]
        server.headers = {"Authorization": f"Bearer {token}"}
        server.instance = instance
        try:
            yield server
        finally:
            server.stop()
            with app.app_context():
                db.engine.dispose()


def chunks(data, size=10_000):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def upload(hub, body, **headers):
    return requests.post(f"{hub.url}/api/v1/parties/{hub.party_id}/documents", params={"type": "other"}, data=body,
                         headers={**hub.headers, "Content-Type": "application/pdf", **headers}, timeout=TIMEOUT)


def test_chunked_upload_then_streamed_download(hub):
    content = pdf(700_000, marker=MARKER + b"-http")
    response = upload(hub, chunks(content))  # a generator: Transfer-Encoding: chunked
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["size_bytes"] == len(content)

    with requests.get(f"{hub.url}/api/v1/documents/{document['id']}/content", headers=hub.headers,
                      stream=True, timeout=TIMEOUT) as answer:
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/pdf"
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        received = b"".join(answer.iter_content(50_000))
    assert received == content
    stored = [path for path in (hub.instance / "documents").rglob("*") if path.is_file()]
    assert stored and all(MARKER not in path.read_bytes() for path in stored)


def test_a_chunked_body_past_the_limit_is_413(hub):
    response = upload(hub, chunks(pdf(LIMIT + 50_000, marker=b"too-big")))
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert not [path for path in (hub.instance / "documents").rglob(".upload-*")]  # no half-written file


def test_a_declared_length_past_the_limit_is_413_before_reading(hub):
    response = upload(hub, pdf(LIMIT + 1, marker=b"declared"))
    assert response.status_code == 413
