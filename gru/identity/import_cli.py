"""``gru import FILE``: load an application's records in bulk (:mod:`gru.identity.importing`)."""

import contextlib
import gc
import json
import os
import sys

import click
from flask.cli import with_appcontext

from gru.cli_support import one_line_errors


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--mapping", "mapping_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSON mapping: kind, local_id column, columns -> attributes.")
@click.option("--application", required=True, help="Code of the application the records come from.")
@click.option("--channel", default="import", show_default=True, help="Channel of the imported values.")
@click.option("--process", default="declared", show_default=True, help="Certification process of the values.")
@click.option("--dry-run", is_flag=True, help="Report what would be created, linked or queued; write nothing.")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 10000),
              help="Lines per transaction (an interrupted import resumes after the last committed batch).")
@click.option("--initial-load", is_flag=True,
              help="The hub's first file for this kind and application: all of it matched in memory and written "
                   "in one transaction, indexes built at the end (the hub must hold no party of the kind).")
@click.option("--jsonl", "is_json_lines", is_flag=True, default=None,
              help="The file is JSON lines (default: from its extension .jsonl / .ndjson).")
@with_appcontext
@one_line_errors
def import_command(path, mapping_path, application, channel, process, dry_run, batch_size, initial_load,
                   is_json_lines):
    """Import the records of FILE (CSV or JSON lines) as golden records, without duplicates."""
    from flask import current_app

    from gru.extensions import db
    from gru.identity.importing import Importer, load_mapping, read_lines

    with open(mapping_path, encoding="utf-8") as stream:
        try:
            document = json.load(stream)
        except ValueError as error:
            raise click.ClickException(f"{mapping_path}: not JSON ({error.msg}, line {error.lineno}).") from None
    mapping = load_mapping(document, current_app.extensions["gru.catalogue"])
    importer = Importer(mapping, application, channel, process)
    if is_json_lines is None:
        is_json_lines = os.path.splitext(path)[1].lower() in (".jsonl", ".ndjson")
    with open(path, encoding="utf-8-sig", newline="") as stream:
        total = sum(1 for _ in stream)
    savepoint = db.session.begin_nested() if dry_run else None  # a dry run is rolled back whole
    with open(path, encoding="utf-8-sig", newline="") as stream, _loaded_objects_frozen():
        lines = read_lines(stream, mapping, is_json_lines)
        if initial_load:
            _load_whole(importer, lines, total, dry_run, db)
        else:
            _import_by_batches(importer, lines, total, batch_size, dry_run, db)
    if savepoint is not None:
        savepoint.rollback()
    report = importer.report
    for number, message in report.errors:
        click.echo(f"line {number}: {message}", err=True)
    summary = report.as_dict()
    prefix = "dry run: would have " if dry_run else ""
    click.echo(f"{prefix}created {summary['created']} (of which {summary['queued_for_review']} queued for review), "
               f"linked {summary['linked']} ({summary['values_recorded']} values recorded on the linked parties), skipped {summary['skipped']} already imported, "
               f"{summary['errors']} lines in error, {summary['lines']} lines read")
    if report.errors:
        raise SystemExit(1)


@contextlib.contextmanager
def _loaded_objects_frozen():
    """The objects alive before the import (the app, its modules: about 170,000) kept
    out of the garbage collector's reach while it runs. Each batch makes hundreds of
    thousands of short-lived objects, and every full collection they set off walked the
    loaded ones too: 13 % of an import's time (``scripts/bench/importing.py``, 35,350
    lines: 1,330 lines/s before, 1,500 after)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _import_by_batches(importer, lines, total, batch_size, dry_run, db):
    with click.progressbar(length=total, label="import", file=sys.stderr) as bar:
        batch, position = [], 0
        for number, row in lines:
            batch.append((number, row))
            if len(batch) >= batch_size:
                _run(importer, batch, dry_run, db)
                bar.update(number - position)
                position, batch = number, []
        if batch:
            _run(importer, batch, dry_run, db)
        bar.update(total - position)


def _load_whole(importer, lines, total, dry_run, db):
    """:func:`gru.identity.initial_load.load`: one commit at the end. The bar counts each
    line twice, checked then written."""
    from gru.bulk_sql import vacuum
    from gru.identity.importing import WRITTEN
    from gru.identity.initial_load import load

    with click.progressbar(length=2 * total, label="initial load (check and match, then write)",
                           file=sys.stderr) as bar:
        load(importer, lines, bar.update)
        bar.update(2 * total - bar.pos)
    if dry_run:
        db.session.flush()
    else:
        db.session.commit()
        vacuum(db.engine, WRITTEN)


def _run(importer, batch, dry_run, db):
    importer.run_batch(batch)
    if dry_run:
        db.session.flush()
    else:
        db.session.commit()
