"""The README's "done when" journey, over real HTTP.

The hub runs in werkzeug's threaded server on 127.0.0.1 (``tests/support/live_server.py``)
and is called with ``requests``, as a business application would: a token from
``/oauth/token`` (client_secret_basic), then the REST API. What only a real socket shows
is covered here: headers as they cross the wire (``ETag``, ``Location``,
``WWW-Authenticate``, ``Content-Type``), bodies the client really sent, sessions opened
by the server's own threads.

SQLite only, on purpose: the server threads need their own sessions and commits, so the
hub gets a fresh database file of its own instead of the rolled-back ``db_session``
transaction. The same endpoints run on PostgreSQL in the rolled-back API tests
(``tests/identity/test_api_*.py``, ``tests/auth/test_tokens.py``), which run on both
backends when ``GRU_TEST_POSTGRES_URL`` is set; a second live database here would add
set-up, not coverage.
"""

import logging

import pytest
import requests

from gru.extensions import db
from tests.conftest import build_app, make_instance
from tests.factories.auth import make_application
from tests.support.live_server import LiveServer

PROBLEM = "application/problem+json"
TIMEOUT = 10
PERSON = {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F"}
ADDRESS = {"lines": ["12 rue Jean Jaurès"], "postal_code": "98800"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A hub served over HTTP on its own SQLite file, with the application "portail"."""
    instance = make_instance(tmp_path_factory)
    with LiveServer() as server:
        app = build_app(instance, f"sqlite:///{instance}/gru.sqlite3", GRU_BASE_URL=server.url)
        with app.app_context():
            application, secret = make_application("portail", name="Portail citoyen")
            db.session.commit()
            server.client_id, server.client_secret = application.client_id, secret
        _show_server_errors()
        server.start(app)
        try:
            yield server
        finally:
            server.stop()
            with app.app_context():
                db.engine.dispose()


def _show_server_errors():
    """Alembic's ``fileConfig`` (run by the migrations) disables the loggers that exist
    before it; turn the hub's back on so that a 500 leaves its trace in pytest's report."""
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("gru") and isinstance(logger, logging.Logger):
            logger.disabled = False


@pytest.fixture(scope="module")
def token(hub):
    return fetch_token(hub, hub.client_id, hub.client_secret).json()["access_token"]


@pytest.fixture
def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(hub, bearer):
    """Call the API with the bearer token: ``api("GET", "/parties/...")``."""

    def call(method, path, headers=None, **kwargs):
        headers = {**bearer, **(headers or {})}
        return requests.request(method, f"{hub.url}/api/v1{path}", headers=headers, timeout=TIMEOUT, **kwargs)

    return call


@pytest.fixture
def person(api):
    """A person created at level 500; returns the 201 answer."""
    response = api(
        "POST", "/parties",
        json={"kind": "person", "attributes": PERSON, "channel": "desk", "process": "original_document_checked"},
    )
    assert response.status_code == 201, response.text
    return response


def fetch_token(hub, client_id, secret):
    """RFC 6749 section 2.3.1: client_secret_basic, the credentials in HTTP Basic."""
    return requests.post(
        f"{hub.url}/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=TIMEOUT
    )


def assert_problem(response, status):
    """An RFC 9457 problem with this status, as it crossed the wire, without a trace."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].split(";")[0].strip() == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"]
    assert "Traceback" not in response.text and "sqlalchemy" not in response.text.lower()
    return body


def test_token_endpoint_over_http(hub):
    response = fetch_token(hub, hub.client_id, hub.client_secret)

    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token_type"].lower() == "bearer" and body["expires_in"] > 0
    assert set(body["scope"].split()) >= {"parties:read", "parties:write"}


def test_token_endpoint_refuses_a_wrong_secret_over_http(hub):
    response = fetch_token(hub, hub.client_id, "not-the-secret")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "not-the-secret" not in response.text


def test_done_when_journey(hub, api, bearer, person):
    party = person.json()["party"]
    assert person.headers["Location"] == f"{hub.url}/api/v1/parties/{party['id']}"

    # Read it back: same ETag as the creation answer.
    read = requests.get(person.headers["Location"], headers=bearer, timeout=TIMEOUT)
    assert read.status_code == 200, read.text
    assert read.headers["ETag"] == person.headers["ETag"]
    assert read.json()["attributes"]["given_names"] == "Élise Marie"
    assert read.json()["provenance"]["family_name"]["level"] == 500

    # Update the postal address, conditionally.
    moved = api(
        "PATCH", f"/parties/{party['id']}",
        json={"attributes": {"postal_address": ADDRESS}, "channel": "desk", "process": "official_proof_scan_checked"},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["attributes"] == {"postal_address": {"status": "updated"}}
    assert moved.headers["ETag"] != read.headers["ETag"]
    address = moved.json()["party"]["attributes"]["postal_address"]
    assert address["commune_name"] == "Nouméa" and address["postal_code"] == "98800"

    # A lower-level family name: kept in history, not golden.
    lower = api(
        "PATCH", f"/parties/{party['id']}",
        json={"attributes": {"family_name": "Wamitan"}, "channel": "phone", "process": "declared"},
        headers={"If-Match": moved.headers["ETag"]},
    )
    assert lower.status_code == 200, lower.text
    assert lower.json()["attributes"]["family_name"]["status"] == "kept_lower_level"
    assert lower.json()["party"]["attributes"]["family_name"] == "Wamytan"

    again = api("GET", f"/parties/{party['id']}")
    assert again.json()["attributes"]["family_name"] == "Wamytan"
    assert again.json()["attributes"]["postal_address"]["commune_name"] == "Nouméa"
    assert again.headers["ETag"] == lower.headers["ETag"]

    # The history lists every value recorded, oldest first.
    history = api("GET", f"/parties/{party['id']}/history")
    assert history.status_code == 200, history.text
    entries = history.json()["items"]
    family_names = [entry for entry in entries if entry["key"] == "family_name"]
    assert [entry["action"] for entry in family_names] == ["recorded", "kept_lower_level"]
    assert family_names[1]["new"] == "Wamitan" and family_names[1]["level"] == 100
    assert family_names[1]["channel"] == "phone"
    addresses = [entry for entry in entries if entry["key"] == "postal_address"]
    assert len(addresses) == 1 and addresses[0]["level"] == 400


def test_no_token_is_401_with_www_authenticate(hub):
    response = requests.get(f"{hub.url}/api/v1/parties", timeout=TIMEOUT)

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_token_is_401_and_not_echoed(hub):
    response = requests.get(
        f"{hub.url}/api/v1/parties", headers={"Authorization": "Bearer forged.token.value"}, timeout=TIMEOUT
    )

    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "forged.token.value" not in response.text


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b'{"kind": "person", "attributes": {', "application/json", 400),
        (b"kind=person&family_name=Wamytan", "text/plain", 415),
        (b"kind=person&family_name=Wamytan", "application/x-www-form-urlencoded", 415),
    ],
    ids=["malformed-json", "text-plain", "form"],
)
def test_bodies_that_are_not_json_are_refused(api, body, content_type, status):
    response = api("POST", "/parties", data=body, headers={"Content-Type": content_type})

    assert_problem(response, status)
    assert api("GET", "/parties", params={"where": "family_name:Wamytan", "kind": "person"}).status_code == 200


def test_stale_if_match_is_412_and_keeps_the_record(api, person):
    party_id = person.json()["party"]["id"]
    change = {"attributes": {"email": "elise@example.nc"}, "channel": "online", "process": "declared"}
    first = api("PATCH", f"/parties/{party_id}", json=change, headers={"If-Match": person.headers["ETag"]})
    assert first.status_code == 200, first.text

    stale = api(
        "PATCH", f"/parties/{party_id}",
        json={**change, "attributes": {"email": "other@example.nc"}},
        headers={"If-Match": person.headers["ETag"]},
    )

    assert_problem(stale, 412)
    current = api("GET", f"/parties/{party_id}")
    assert current.json()["attributes"]["email"] == "elise@example.nc"
    assert current.headers["ETag"] == first.headers["ETag"]


def test_missing_if_match_is_428(api, person):
    party_id = person.json()["party"]["id"]

    response = api(
        "PATCH", f"/parties/{party_id}",
        json={"attributes": {"email": "elise@example.nc"}, "channel": "online", "process": "declared"},
    )

    assert_problem(response, 428)


def test_unknown_party_is_404(api):
    assert_problem(api("GET", "/parties/00000000-0000-4000-8000-000000000000"), 404)


def test_invalid_value_is_422_with_field_errors(api):
    response = api(
        "POST", "/parties",
        json={"kind": "person", "attributes": {"email": "not-an-email"}, "channel": "desk", "process": "declared"},
    )

    body = assert_problem(response, 422)
    assert "attributes.email" in body["errors"]


def test_simultaneous_reads_and_writes_all_succeed(api, person):
    """Each read appends to the journal after reading; on SQLite a transaction that read
    first could not take the write lock once another request wrote (it failed at once with
    "database is locked"). Transactions now take it when they begin, and wait their turn."""
    from concurrent.futures import ThreadPoolExecutor

    path = f"/parties/{person.json()['party']['id']}"

    def read_then_write(number):
        statuses = [api("GET", path).status_code for _ in range(5)]
        etag = api("GET", path).headers["ETag"]
        update = api("PATCH", path, headers={"If-Match": etag},
                     json={"attributes": {"email": f"elise.{number}@example.nc"}, "channel": "email",
                           "process": "declared"})
        return statuses + [update.status_code]

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = [status for statuses in pool.map(read_then_write, range(16)) for status in statuses]

    # Every read answers 200; an update answers 200, or 412 when another thread changed
    # the record between its read and its write (If-Match doing its job), never a 500.
    assert outcomes.count(200) >= 16 * 5 and set(outcomes) <= {200, 412}
