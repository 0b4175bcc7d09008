"""The ``gru`` command: Flask's CLI (run, db, shell) plus the hub's own commands.

Each command loads its input, calls one service, commits once and prints. A domain
error ends the command with one line on standard error and exit status 1.
"""

import json
import os

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from gru.cli_support import one_line_errors


@click.command("init")
@with_appcontext
@one_line_errors
def init_command():
    """Create the instance folder, its keys (mode 0600) and the database schema."""
    from flask_migrate import upgrade

    from gru.crypto import generate_key_material, write_key_file

    instance = current_app.config["GRU_INSTANCE_PATH"]
    os.makedirs(instance, mode=0o700, exist_ok=True)
    key_file = current_app.config["GRU_KEY_FILE"]
    if os.path.exists(key_file):
        click.echo(f"keys: kept {key_file}")
    else:
        write_key_file(key_file, generate_key_material())
        click.echo(f"keys: created {key_file}")
    upgrade(directory=current_app.extensions["migrate"].directory)
    click.echo(f"database: {_safe_url(current_app.config['GRU_DATABASE_URL'])} is up to date")


def _safe_url(url):
    """The database URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.command("demo")
@with_appcontext
@one_line_errors
def demo_command():
    """Load demo households, an association and a company, purposes and a consent (once)."""
    from gru.consent.demo import load_demo_consents
    from gru.extensions import db
    from gru.identity.demo import load_demo_data

    created = load_demo_data()
    load_demo_consents()
    db.session.commit()
    if created:
        click.echo(f"demo: loaded {created} parties")
    else:
        click.echo("demo: already loaded")


@click.group("apps")
def apps_group():
    """Register and list business applications."""


@apps_group.command("create")
@click.argument("code")
@click.option("--name", help="Human-readable name of the application.")
@click.option("--scope", "scopes", multiple=True, help="Scope granted (repeatable); default: all.")
@click.option("--client-id", help="Client id of its tokens at a trusted external issuer.")
@with_appcontext
@one_line_errors
def create_application(code, name, scopes, client_id):
    """Register application CODE and print its credentials once, as JSON."""
    from gru.auth.services import register_application
    from gru.extensions import db

    application, secret = register_application(code, name, scopes, client_id=client_id)
    db.session.commit()
    click.echo(json.dumps(_credentials(application, secret), indent=2))


@apps_group.command("reset-secret")
@click.argument("code")
@with_appcontext
@one_line_errors
def reset_secret(code):
    """Give application CODE a new secret (the old one stops working) and print it once."""
    from gru.auth.services import reset_client_secret
    from gru.extensions import db

    application, secret = reset_client_secret(code)
    db.session.commit()
    click.echo(json.dumps(_credentials(application, secret), indent=2))


@apps_group.command("list")
@with_appcontext
@one_line_errors
def list_applications_command():
    """List registered applications (never their secrets)."""
    from gru.auth.services import list_applications

    for application in list_applications():
        state = "active" if application.is_active else "disabled"
        click.echo(f"{application.code}\t{application.client_id}\t{application.scopes}\t{state}")


def _credentials(application, secret):
    return {
        "code": application.code,
        "client_id": application.client_id,
        "client_secret": secret,
        "scope": application.scopes,
        "token_endpoint": current_app.config["GRU_BASE_URL"] + "/oauth/token",
    }


def register_commands(app):
    from gru.audit.cli import audit_group
    from gru.auth.agent_cli import agents_group
    from gru.auth.cli import contracts_group
    from gru.connectors.cli import connectors_group
    from gru.consent.cli import purposes_group
    from gru.documents.cli import documents_group, keys_group
    from gru.identity.import_cli import import_command
    from gru.identity.search.cli import search_group
    from gru.identity.search.duplicates_cli import duplicates_group
    from gru.worker import worker_command

    app.cli.add_command(init_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(apps_group)
    app.cli.add_command(contracts_group)
    app.cli.add_command(agents_group)
    app.cli.add_command(audit_group)
    app.cli.add_command(documents_group)
    app.cli.add_command(purposes_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(connectors_group)
    app.cli.add_command(worker_command)
    app.cli.add_command(import_command)
    app.cli.add_command(search_group)
    app.cli.add_command(duplicates_group)


def _create_app():
    from gru.app import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, help="gru: the GRU data hub.")


def main():
    cli(prog_name="gru")
