"""``gru worker``: which jobs a process runs (``--only`` / ``--skip``), and the duplicate
job proposing pairs from the worker."""

import logging

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from gru.identity.search.models import DuplicateSuspicion
from gru.worker import JOB_IDS, build_scheduler, duplicates_job, worker_command
from tests.factories.identity import make_party


def _job_ids(app, **kwargs):
    return sorted(job.id for job in build_scheduler(app, BackgroundScheduler(timezone="UTC"), **kwargs).get_jobs())


def test_a_worker_runs_every_job_or_the_ones_chosen(app):
    assert _job_ids(app) == sorted(JOB_IDS)
    assert _job_ids(app, job_ids=("duplicates",)) == ["duplicates"]


@pytest.mark.parametrize(("arguments", "message"), [
    (["--only", "duplicates", "--skip", "deliveries"], "give either --only or --skip, not both"),
    ([argument for job_id in JOB_IDS for argument in ("--skip", job_id)], "no job left to run"),
])
def test_a_bad_job_selection_is_one_line(app, arguments, message):
    result = app.test_cli_runner().invoke(worker_command, arguments)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: {message}"]


def test_an_unknown_job_is_refused_by_name(app):
    result = app.test_cli_runner().invoke(worker_command, ["--only", "backup"])
    assert result.exit_code == 2 and "'backup' is not one of" in result.stderr


def test_the_duplicate_job_proposes_the_pairs_and_logs_one_line(app, db_session, caplog):
    first = make_party(attributes={"family_name": "Wamytan", "given_names": "Élise", "birth_date": "1987-03-14"})
    second = make_party(attributes={"family_name": "Wamitan", "given_names": "Élise", "birth_date": "1987-03-14"})
    db_session.commit()
    expected = {first.pk, second.pk}  # the job's app context ends the session: keep the keys
    with caplog.at_level(logging.INFO, logger="gru.worker"):
        duplicates_job(app)
    assert [record.getMessage() for record in caplog.records] == ["duplicates: 2 parties examined, 1 pairs proposed"]
    pair = db_session.scalars(select(DuplicateSuspicion)).one()
    assert {pair.party_a_pk, pair.party_b_pk} == expected
