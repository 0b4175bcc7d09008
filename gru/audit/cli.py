"""``gru audit``: verify, seal and export the seals of the access journal.

Each command loads its input, calls one service of :mod:`gru.audit.services`, commits at
most once and prints. Any failure is one line on standard error and exit status 1, never a
traceback; so is a journal that fails verification, naming the first bad entry or seal.
"""

import functools
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from gru.cli import one_line_errors


def _fail(message):
    from gru.extensions import db

    db.session.rollback()
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def journal_errors(command):
    """:func:`one_line_errors`, plus the journal's own failures: a damaged journal that
    refuses a seal (``RuntimeError``), a database error, an unreadable file."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except RuntimeError as error:
            _fail(str(error))
        except SQLAlchemyError as error:
            cause = getattr(error, "orig", None) or error
            _fail(f"database: {str(cause).strip().splitlines()[0]}")
        except OSError as error:
            _fail(f"{error.filename or 'file'}: {error.strerror or error}")

    return one_line_errors(wrapper)


def _read_seal_lines(path):
    """The lines of a file written by ``gru audit export-seals``, each checked to be a seal."""
    from gru.audit.chain import parse_seal_line

    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle if line.strip()]
    for number, line in enumerate(lines, 1):
        try:
            parse_seal_line(line)
        except (ValueError, KeyError, TypeError, AttributeError):
            _fail(f"{path}: line {number} is not a seal exported by `gru audit export-seals`")
    return lines


@click.group("audit")
def audit_group():
    """Verify, seal and export the seals of the access journal."""


@audit_group.command("verify")
@click.option("--seals", "seals_file", type=click.Path(dir_okay=False),
              help="Seal lines kept outside the hub (from `gru audit export-seals`).")
@with_appcontext
@journal_errors
def verify_command(seals_file):
    """Check the hash chain and every seal; exit 1 naming the first bad entry or seal."""
    from gru.audit.services import verify_now

    external = _read_seal_lines(seals_file) if seals_file else None
    report = verify_now(external)
    if not report.ok:
        click.echo(f"journal: {report.problem}", err=True)
        sys.exit(1)
    click.echo(f"journal: {report.entries_checked} entries and {report.seals_checked} "
               "seals verified")


@audit_group.command("seal")
@with_appcontext
@journal_errors
def seal_command():
    """Sign the journal's head with the instance signing key (if there is anything new)."""
    from gru.audit.services import seal_now
    from gru.extensions import db

    seal = seal_now()
    db.session.commit()
    if seal is None:
        click.echo("journal: nothing new to seal")
    else:
        click.echo(f"journal: sealed up to entry {seal.last_seq} (seal {seal.id})")


@audit_group.command("export-seals")
@click.option("--output", type=click.Path(dir_okay=False, allow_dash=True), default="-",
              show_default=True, help="File to write the seal lines to.")
@with_appcontext
@journal_errors
def export_seals_command(output):
    """Print every seal as one JSON line, oldest first, to keep outside the hub."""
    from gru.audit.services import exported_seals

    count = 0
    with click.open_file(output, "w", encoding="utf-8", atomic=output != "-") as handle:
        for line in exported_seals():
            handle.write(line + "\n")
            count += 1
    if output != "-":
        click.echo(f"journal: {count} seals written to {output}")
