"""What every ``gru`` command shares."""

import functools
import sys

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from gru.errors import GruError


def one_line_errors(command):
    """Turn a domain error into one line on stderr and exit status 1, never a trace."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except GruError as error:
            from gru.extensions import db

            db.session.rollback()
            details = getattr(error, "errors", None)
            suffix = ""
            if details:
                parts = [f"{field}: {' '.join(map(str, messages))}" for field, messages in details.items()]
                suffix = " (" + "; ".join(parts) + ")"
            click.echo(f"error: {error.detail}{suffix}", err=True)
            sys.exit(1)
        except (OperationalError, ProgrammingError) as error:
            # A missing table or database file: the instance was never initialised (or
            # is unreachable). Say what to do, not the SQL.
            click.echo(f"error: the database is not ready ({error.orig.__class__.__name__}): run `gru init` first", err=True)
            sys.exit(1)

    return wrapper
