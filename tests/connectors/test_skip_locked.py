"""Several workers on PostgreSQL: claims lock with ``FOR UPDATE SKIP LOCKED``, so two
workers claiming at the same time get different deliveries and neither waits for the
other's rows. (The journal entries of a claim then append in turn: the journal's head is
one locked row, held only for the claim's short transaction.)"""

import threading

import pytest
from sqlalchemy import text

from gru.connectors import dispatch
from gru.connectors.services import create_instance
from gru.extensions import db
from tests.conftest import POSTGRES_URL, _create_postgres_database, _drop_postgres_database, build_app
from tests.connectors.conftest import contract
from tests.factories.auth import make_application
from tests.factories.identity import make_party

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="SKIP LOCKED is PostgreSQL's: set GRU_TEST_POSTGRES_URL")


@pytest.fixture
def committed_app(tmp_path):
    from gru.crypto import generate_key_material, write_key_file

    write_key_file(str(tmp_path / "keys.json"), generate_key_material())
    url, name, server = _create_postgres_database()
    app = build_app(tmp_path, url.render_as_string(hide_password=False))
    yield app
    with app.app_context():
        db.engine.dispose()
    _drop_postgres_database(server, name)


def test_two_workers_claim_different_deliveries_without_waiting(committed_app):
    with committed_app.app_context():
        make_application("mairie", contract=contract())
        create_instance("mairie-null", "null", "mairie", {})
        for _ in range(20):
            make_party()
        db.session.commit()
    first_claimed, release, results = threading.Event(), threading.Event(), {}

    def first_worker():
        with committed_app.app_context():
            results["first"] = set(dispatch.lock_due(5, dispatch.utcnow()))
            first_claimed.set()
            release.wait(10)  # holds its row locks, uncommitted
            db.session.rollback()

    thread = threading.Thread(target=first_worker)
    thread.start()
    assert first_claimed.wait(10)
    try:
        with committed_app.app_context():
            db.session.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail the test
            second = {delivery.pk for delivery, _message in dispatch.claim(5)}
            db.session.commit()
    finally:
        release.set()
        thread.join(10)
    assert len(results["first"]) == 5 and len(second) == 5
    assert results["first"].isdisjoint(second)
