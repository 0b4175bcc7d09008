"""``gru worker``: the scheduler process (APScheduler 3) running the hub's periodic jobs.

One process per deployment, beside the web workers. Every job is a function of the app
listed in :data:`JOBS` with the setting that gives its interval in seconds; each run gets
its own app context, calls one service, commits once and logs one line. A failing run is
rolled back and logged, and the scheduler goes on: the next run tries again.

Jobs today: sealing the access journal (X-Road message log: a signed checkpoint of the hash
chain at regular intervals bounds what a cut tail can hide); the documents job (flag
expired documents, then purge those past retention); deliveries (claim due deliveries,
send them, record the outcome: a loop thread of :mod:`gru.connectors.runner` that this
job keeps alive); duplicate detection (the parties changed since the last run).

``--only`` and ``--skip`` split the jobs between processes. The duplicate job is pure
Python work that holds the interpreter for seconds after a bulk load; run beside the
delivery loop it slows deliveries, so a busy hub runs ``gru worker --skip duplicates``
and ``gru worker --only duplicates`` side by side (each job in exactly one process).
"""

import logging
from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import with_appcontext

from gru.cli import one_line_errors
from gru.errors import ConfigurationError

log = logging.getLogger("gru.worker")


def _one_line(error: BaseException) -> str:
    """``ErrorClass: first line of its message``: one log line, no SQL or traceback."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{cause.__class__.__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _in_transaction(app, label, work):
    """``(True, work())`` run in its own app context and committed once; on any error the
    transaction is rolled back, one line "``label`` failed: ..." is logged and
    ``(False, None)`` returned: the scheduler goes on, the next run tries again."""
    from gru.extensions import db

    with app.app_context():
        try:
            result = work()
            db.session.commit()
        except Exception as error:  # noqa: BLE001 - logged; the scheduler must go on
            db.session.rollback()
            log.error("%s failed: %s", label, _one_line(error))
            return False, None
    return True, result


def seal_journal_job(app) -> None:
    """Seal the access journal with the instance key, in its own app context; never raises."""
    from gru.audit.services import seal_now

    is_done, seal = _in_transaction(app, "journal seal", seal_now)
    if not is_done:
        return
    if seal is None:
        log.info("journal seal: nothing new to seal")
    else:
        log.info("journal seal: sealed up to entry %d (seal %d)", seal.last_seq, seal.id)


def documents_job(app) -> None:
    """Flag expired documents, then purge those past retention; never raises."""
    from gru.documents.retention import flag_expired_documents, purge_documents

    is_done, outcome = _in_transaction(app, "documents job", lambda: (flag_expired_documents(), purge_documents()))
    if is_done:
        expired, purged = outcome
        log.info("documents: %d flagged proof expired, %d purged", len(expired), len(purged))


def deliveries_job(app) -> None:
    """Keep the delivery loop running (gru.connectors.runner); never raises.

    The loop claims, sends and records continuously in a thread of its own (a poll every
    GRU_CONNECTORS_POLL_INTERVAL when nothing is due), so that a change reaches the
    applications within a second; this job, every GRU_CONNECTORS_JOB_INTERVAL seconds,
    starts it, restarts it if it died, and logs the deliveries' status.
    """
    from gru.connectors.runner import DeliveryLoop

    state = app.extensions["gru.connectors"]
    if state.dispatcher is None or not state.dispatcher.is_alive():
        if state.dispatcher is not None:
            log.error("deliveries: the delivery loop had stopped; starting it again")
        state.dispatcher = DeliveryLoop(app)
        state.dispatcher.start()
        log.info("deliveries: loop started")


def stop_deliveries(app) -> None:
    """Stop the delivery loop (it records the sends in flight first)."""
    state = app.extensions.get("gru.connectors")
    if state is not None and state.dispatcher is not None:
        state.dispatcher.stop(timeout=30)
        state.dispatcher = None


def duplicates_job(app) -> None:
    """Propose suspected duplicates for the parties changed since the last run; never raises."""
    from gru.identity.search.duplicates import detect_pending

    is_done, outcome = _in_transaction(app, "duplicates job", detect_pending)
    if is_done:
        log.info("duplicates: %d parties examined, %d pairs proposed", *outcome)


#: (job id, function of the app, setting giving its interval in seconds)
JOBS = (
    ("journal-seal", seal_journal_job, "GRU_JOURNAL_SEAL_INTERVAL"),
    ("documents", documents_job, "GRU_DOCUMENTS_JOB_INTERVAL"),
    ("deliveries", deliveries_job, "GRU_CONNECTORS_JOB_INTERVAL"),
    ("duplicates", duplicates_job, "GRU_DUPLICATES_JOB_INTERVAL"),
)


JOB_IDS = tuple(job_id for job_id, _function, _setting in JOBS)


def build_scheduler(app, scheduler=None, job_ids=JOB_IDS):
    """``scheduler`` (default: a new ``BlockingScheduler`` in UTC) with the jobs of
    :data:`JOBS` named in ``job_ids`` (default: all).

    Each job runs once at start, then every interval; runs never overlap, and runs missed
    while the process was busy or asleep collapse into one. Tests pass a
    ``BackgroundScheduler`` (or call a job function directly).
    """
    from apscheduler.schedulers.blocking import BlockingScheduler

    from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN

    if scheduler is None:
        scheduler = BlockingScheduler(timezone=timezone.utc)
    # The delivery loop is a thread of its own: it ends with the scheduler.
    scheduler.add_listener(lambda _event: stop_deliveries(app), EVENT_SCHEDULER_SHUTDOWN)
    for job_id, function, setting in JOBS:
        if job_id not in job_ids:
            continue
        seconds = app.config[setting]
        if not isinstance(seconds, int) or seconds <= 0:
            raise ConfigurationError(f"{setting} must be a positive number of seconds")
        scheduler.add_job(
            function, "interval", seconds=seconds, args=[app], id=job_id, name=job_id,
            next_run_time=datetime.now(timezone.utc), coalesce=True, max_instances=1,
            misfire_grace_time=seconds, replace_existing=True,
        )
    return scheduler


def selected_jobs(only, skip):
    """The job ids a worker runs, from ``--only`` and ``--skip``."""
    if only and skip:
        raise ConfigurationError("give either --only or --skip, not both")
    selected = tuple(job_id for job_id in JOB_IDS if (job_id in only if only else job_id not in skip))
    if not selected:
        raise ConfigurationError("no job left to run")
    return selected


@click.command("worker")
@click.option("--only", multiple=True, type=click.Choice(JOB_IDS), help="Run only this job (repeatable).")
@click.option("--skip", multiple=True, type=click.Choice(JOB_IDS), help="Run every job but this one (repeatable).")
@with_appcontext
@one_line_errors
def worker_command(only, skip):
    """Run the scheduler: journal seals (GRU_JOURNAL_SEAL_INTERVAL), document expiry and purge
    (GRU_DOCUMENTS_JOB_INTERVAL), deliveries to connectors (GRU_CONNECTORS_*), duplicate
    detection (GRU_DUPLICATES_JOB_INTERVAL); --only / --skip split them between processes."""
    job_ids = selected_jobs(only, skip)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = current_app._get_current_object()
    scheduler = build_scheduler(app, job_ids=job_ids)
    for job in scheduler.get_jobs():
        log.info("worker: job %s every %s", job.id, job.trigger.interval)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        if scheduler.running:
            scheduler.shutdown(wait=False)
        stop_deliveries(app)
        log.info("worker: stopped")
