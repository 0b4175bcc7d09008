"""``gru search``: rebuild the search index, look for duplicates, search from the shell."""

import click
from flask.cli import with_appcontext

from gru.cli_support import one_line_errors


@click.group("search")
def search_group():
    """Search index and duplicate detection."""


@search_group.command("reindex")
@with_appcontext
@one_line_errors
def reindex_command():
    """Rebuild the search index from the golden values (after an upgrade, or a restore)."""
    from gru.extensions import db
    from gru.identity.search.index import rebuild

    count = rebuild()
    db.session.commit()
    click.echo(f"indexed {count} parties")


@search_group.command("detect-duplicates")
@click.option("--limit", default=5000, show_default=True, help="Parties examined at most.")
@with_appcontext
@one_line_errors
def detect_command(limit):
    """Propose duplicate pairs for the parties changed since the last detection (the worker's job)."""
    from gru.extensions import db
    from gru.identity.search.duplicates import detect_pending

    examined, proposed = detect_pending(limit)
    db.session.commit()
    click.echo(f"examined {examined} parties, proposed {proposed} suspected duplicates")
