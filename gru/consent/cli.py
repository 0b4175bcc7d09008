"""``gru purposes``: the purposes register (GDPR art. 30) from the command line.

Each command loads its input, calls one service, commits once and prints; bad input ends
it with one line on standard error and exit status 1.
"""

import json

import click
from flask.cli import with_appcontext

from gru.cli_support import one_line_errors
from gru.consent.models import LAWFUL_BASES

AUTHOR = "cli"


@click.group("purposes")
def purposes_group():
    """The purposes register: what is processed, on which lawful basis, for whom, how long."""


def _retention(purpose):
    return f"{purpose.retention_days} days" if purpose.retention_days is not None else purpose.retention_text


@purposes_group.command("list")
@click.option("--all", "include_retired", is_flag=True, help="Retired purposes too.")
@with_appcontext
@one_line_errors
def list_command(include_retired):
    """One line per purpose: code, lawful basis, retention, label (and "retired")."""
    from gru.consent.services import list_purposes

    for purpose in list_purposes(include_retired=include_retired):
        state = "\tretired" if purpose.is_retired else ""
        click.echo(f"{purpose.code}\t{purpose.lawful_basis}\t{_retention(purpose)}\t{purpose.label}{state}")


@purposes_group.command("show")
@click.argument("code")
@with_appcontext
@one_line_errors
def show_command(code):
    """The purpose CODE as JSON."""
    from gru.consent.schemas import PurposeSchema, purpose_view
    from gru.consent.services import get_purpose

    document = PurposeSchema().dump(purpose_view(get_purpose(code)))
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@purposes_group.command("declare")
@click.argument("code")
@click.option("--label", required=True, help="What the processing is, in a few words.")
@click.option("--lawful-basis", required=True, help=f"GDPR art. 6(1): {', '.join(LAWFUL_BASES)}.")
@click.option("--data-category", "data_categories", multiple=True, help="A category of data processed (repeatable).")
@click.option("--recipient", "recipients", multiple=True, help="A category of recipients (repeatable).")
@click.option("--retention-days", type=int, help="How long the data is kept, in days...")
@click.option("--retention", "retention_text", help="...or as a text, when it is not a fixed duration.")
@click.option("--description", help="A longer description.")
@with_appcontext
@one_line_errors
def declare_command(code, label, lawful_basis, data_categories, recipients, retention_days, retention_text,
                    description):
    """Add the purpose CODE to the register."""
    from gru.consent.services import declare_purpose
    from gru.extensions import db

    purpose = declare_purpose({
        "code": code, "label": label, "lawful_basis": lawful_basis, "data_categories": list(data_categories),
        "recipients": list(recipients), "retention_days": retention_days, "retention_text": retention_text,
        "description": description,
    }, AUTHOR)
    db.session.commit()
    click.echo(f"purpose {purpose.code}: declared ({purpose.lawful_basis}, kept {_retention(purpose)})")


@purposes_group.command("retire")
@click.argument("code")
@with_appcontext
@one_line_errors
def retire_command(code):
    """Retire the purpose CODE: it stays in the register, no consent is given for it any more."""
    from gru.consent.services import retire_purpose
    from gru.extensions import db

    purpose = retire_purpose(code, AUTHOR)
    db.session.commit()
    click.echo(f"purpose {purpose.code}: retired")
