"""``gru contracts``: put service contracts in force and read them."""

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from gru.cli_support import one_line_errors


@click.group("contracts")
def contracts_group():
    """Service contracts of business applications (versioned)."""


@contracts_group.command("set")
@click.argument("code")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="Contract as a JSON file.")
@click.option("--full-access", is_flag=True,
              help="Every right on every attribute, document type and consent (demo and development only).")
@click.option("--purpose", "purposes", multiple=True, help="With --full-access: the purposes (repeatable).")
@with_appcontext
@one_line_errors
def set_contract_command(code, path, full_access, purposes):
    """Put a new version of application CODE's contract in force."""
    from gru.auth.contracts import full_access_document, set_contract
    from gru.errors import ValidationFailed
    from gru.extensions import db

    catalogue = current_app.extensions["gru.catalogue"]
    if bool(path) == bool(full_access):
        raise ValidationFailed({"contract": ["Give either --file or --full-access."]})
    if full_access:
        from gru.documents.services import document_types

        document = full_access_document(catalogue, purposes=purposes or ("demo",))
        document["document_types"] = sorted(document_types())
    else:
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except ValueError as error:
            raise ValidationFailed({"file": [f"Not JSON: {error}"]}) from None
    contract = set_contract(code, document, catalogue, author="cli")
    db.session.commit()
    click.echo(f"contract of {code}: version {contract.version} in force")


@contracts_group.command("show")
@click.argument("code")
@with_appcontext
@one_line_errors
def show_contract_command(code):
    """Print the contract in force for application CODE, as JSON."""
    from gru.auth.contracts import current_contract
    from gru.auth.services import get_application
    from gru.errors import NotFound

    contract = current_contract(get_application(code))
    if contract is None:
        raise NotFound(f"Application {code!r} has no contract.")
    click.echo(json.dumps(contract.as_document(), indent=2, default=str, ensure_ascii=False))
