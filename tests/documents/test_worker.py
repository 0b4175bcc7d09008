"""The documents job of ``gru worker``: expiry flags, then the purge, one log line."""

import logging
from datetime import date

import pytest
from sqlalchemy import select

from gru.documents.models import Document
from gru.extensions import db
from gru.worker import JOBS, documents_job


@pytest.fixture
def worker_log(caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("gru.worker"), "disabled", False)
    caplog.set_level(logging.INFO, logger="gru.worker")
    return caplog


def test_the_job_is_scheduled_at_its_setting():
    assert ("documents", documents_job, "GRU_DOCUMENTS_JOB_INTERVAL") in JOBS


def test_job_flags_expired_and_purges_past_retention(app, upload, worker_log):
    upload(issued_on="2000-01-01", expires_on="2001-01-01")  # expired, and past retention
    upload(b"%PDF-1.5\nfresh" + b"." * 500, expires_on="2099-01-01")

    documents_job(app)

    (record,) = worker_log.records
    assert record.getMessage() == "documents: 1 flagged proof expired, 1 purged"
    states = db.session.execute(select(Document.expires_on, Document.proof_expired_at, Document.purged_at)
                                .order_by(Document.pk)).all()
    assert states[0].proof_expired_at is not None and states[0].purged_at is not None
    assert states[1].proof_expired_at is None and states[1].purged_at is None
    assert states[1].expires_on == date(2099, 1, 1)


def test_a_failing_job_logs_one_line_and_rolls_back(app, worker_log, monkeypatch):
    from gru.documents import retention

    def broken(today=None):
        raise RuntimeError("storage unreachable\nsecond line")

    monkeypatch.setattr(retention, "flag_expired_documents", broken)
    documents_job(app)
    (record,) = worker_log.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == "documents job failed: RuntimeError: storage unreachable"
