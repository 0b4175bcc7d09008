"""``gru worker`` as a real process: killed with SIGKILL in the middle of a batch and
restarted, it loses nothing (leases lapse; receivers drop duplicates by event id)."""

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, func, select, text

from gru.connectors.models import Delivery
from gru.connectors.webhook import new_secret
from gru.extensions import db
from tests.conftest import POSTGRES_URL, _create_postgres_database, _drop_postgres_database, build_app
from tests.connectors.conftest import contract
from tests.connectors.receivers import Receiver
from tests.factories.auth import make_application

EVENT_COUNT = 60


@pytest.fixture(params=["sqlite"] + (["postgresql"] if POSTGRES_URL else []))
def worker_app(request, tmp_path):
    """An app on a database of its own, really committed (the worker is another process)."""
    from gru.crypto import generate_key_material, write_key_file

    write_key_file(str(tmp_path / "keys.json"), generate_key_material())
    if request.param == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path}/gru.sqlite3", None
    else:
        server_url, name, server = _create_postgres_database()
        url, cleanup = server_url.render_as_string(hide_password=False), (server, name)
    settings = {"GRU_CONNECTORS_TIMEOUT": 5.0, "GRU_CONNECTORS_CONCURRENCY": 4, "GRU_CONNECTORS_POLL_INTERVAL": 0.05}
    app = build_app(tmp_path, url, **settings)
    yield app, tmp_path, url, settings
    with app.app_context():
        db.engine.dispose()
    if cleanup:
        _drop_postgres_database(*cleanup)


def _worker(instance, url, settings):
    environment = {**os.environ, "GRU_INSTANCE_PATH": str(instance), "GRU_DATABASE_URL": url,
                   "GRU_BASE_URL": "http://hub.test", **{key: str(value) for key, value in settings.items()}}
    command = os.path.join(os.path.dirname(sys.executable), "gru")
    return subprocess.Popen([command, "worker"], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def test_a_worker_killed_mid_batch_then_restarted_loses_nothing(worker_app):
    app, instance, url, settings = worker_app
    receiver = Receiver()
    receiver.behaviour.delay = 0.05
    try:
        with app.app_context():
            from gru.connectors.services import create_instance
            from tests.factories.identity import make_party

            make_application("mairie", contract=contract(attributes=["family_name"]))
            create_instance("mairie-webhook", "webhook", "mairie", {"url": receiver.url, "secrets": [new_secret()]})
            db.session.commit()
            for _ in range(EVENT_COUNT):
                make_party()
            db.session.commit()
        worker = _worker(instance, url, settings)
        deadline = time.monotonic() + 60
        while len(receiver.requests) < EVENT_COUNT // 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(receiver.requests) >= EVENT_COUNT // 3, worker.stderr.read1().decode() if worker.poll() else ""
        os.killpg(worker.pid, signal.SIGKILL)  # in the middle of a batch
        worker.wait(10)
        killed_at = len(receiver.applied)
        assert killed_at < EVENT_COUNT
        # The killed worker's leases must lapse before a new worker takes its claims: make
        # them lapse now rather than wait GRU_CONNECTORS_TIMEOUT * 5 + 30 seconds.
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("UPDATE deliveries SET lease_until = NULL"))
        worker = _worker(instance, url, settings)
        deadline = time.monotonic() + 60
        while len(receiver.applied) < EVENT_COUNT and time.monotonic() < deadline:
            time.sleep(0.05)
        with engine.connect() as connection:
            for _ in range(100):
                open_count = connection.execute(
                    select(func.count()).select_from(Delivery.__table__).where(Delivery.status != "delivered")
                ).scalar()
                if not open_count:
                    break
                time.sleep(0.1)
                connection.rollback()
            still_open = connection.execute(
                select(Delivery.status, Delivery.attempts, Delivery.last_error, Delivery.lease_until)
                .where(Delivery.status != "delivered")).all()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(10)
        engine.dispose()
        assert len(receiver.applied) == EVENT_COUNT  # every event, once applied
        assert len({event["id"] for event in receiver.applied}) == EVENT_COUNT
        assert open_count == 0, f"{still_open}; the worker said: {worker.stderr.read().decode()[-2000:]}"
    finally:
        receiver.stop()
