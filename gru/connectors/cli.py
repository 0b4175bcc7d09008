"""``gru connectors``: configure instances, watch deliveries, replay dead letters.

Each command loads its input, calls one service, commits once and prints; a domain error
is one line on standard error and exit status 1. Configurations are printed with their
secrets masked.
"""

import json

import click
from flask.cli import with_appcontext

from gru.cli_support import one_line_errors


def _config(text, path):
    from gru.errors import ValidationFailed

    if bool(text) == bool(path):
        raise ValidationFailed({"config": ["Give either --config JSON or --config-file FILE."]})
    try:
        if path:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        return json.loads(text)
    except (OSError, ValueError) as error:
        raise ValidationFailed({"config": [f"Not a JSON object ({error.__class__.__name__})."]}) from None


def _echo(document):
    click.echo(json.dumps(document, indent=2, default=str, ensure_ascii=False))


@click.group("connectors")
def connectors_group():
    """Connector instances (one configured connection to one application) and their deliveries."""


@connectors_group.command("types")
@with_appcontext
@one_line_errors
def types_command():
    """List the loaded connector types (GRU_CONNECTORS_ENABLED) and their secret fields."""
    from gru.connectors.services import connector_types, type_document

    for name, cls in connector_types().items():
        document = type_document(name, cls)
        click.echo(f"{name}\t{document['description']}\tsecrets: {', '.join(document['secret_fields']) or '-'}")


@connectors_group.command("create")
@click.argument("name")
@click.option("--type", "type_", required=True, help="Connector type, e.g. webhook, scim, null.")
@click.option("--application", required=True, help="Code of the receiving application.")
@click.option("--config", "config_text", help="Configuration as JSON.")
@click.option("--config-file", type=click.Path(exists=True, dir_okay=False), help="Configuration as a JSON file.")
@click.option("--purpose", help="Purpose journaled for its deliveries (default: the contract's first).")
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@with_appcontext
@one_line_errors
def create_command(name, type_, application, config_text, config_file, purpose, disabled):
    """Configure instance NAME; prints it, secrets masked."""
    from gru.connectors.services import create_instance, instance_document
    from gru.extensions import db

    instance = create_instance(name, type_, application, _config(config_text, config_file), purpose=purpose,
                               is_enabled=not disabled)
    db.session.commit()
    _echo(instance_document(instance))


@connectors_group.command("update")
@click.argument("name")
@click.option("--config", "config_text", help="New configuration as JSON (masked secrets are kept).")
@click.option("--config-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--enable/--disable", "is_enabled", default=None)
@with_appcontext
@one_line_errors
def update_command(name, config_text, config_file, is_enabled):
    """Replace NAME's configuration, or enable or disable it."""
    from gru.connectors.services import instance_document, update_instance
    from gru.extensions import db

    config = _config(config_text, config_file) if (config_text or config_file) else None
    instance = update_instance(name, config=config, is_enabled=is_enabled)
    db.session.commit()
    _echo(instance_document(instance))


@connectors_group.command("list")
@with_appcontext
@one_line_errors
def list_command():
    """List instances: name, type, application, state."""
    from gru.connectors.services import list_instances

    for instance in list_instances():
        state = "enabled" if instance.is_enabled else "disabled"
        click.echo(f"{instance.name}\t{instance.type}\t{instance.application.code}\t{state}")


@connectors_group.command("show")
@click.argument("name")
@with_appcontext
@one_line_errors
def show_command(name):
    """Print instance NAME as JSON, secrets masked."""
    from gru.connectors.services import get_instance, instance_document

    _echo(instance_document(get_instance(name)))


@connectors_group.command("delete")
@click.argument("name")
@with_appcontext
@one_line_errors
def delete_command(name):
    """Remove instance NAME and its deliveries."""
    from gru.connectors.services import delete_instance
    from gru.extensions import db

    delete_instance(name)
    db.session.commit()
    click.echo(f"connector {name}: deleted")


@connectors_group.command("status")
@with_appcontext
@one_line_errors
def status_command():
    """Deliveries per instance by status, and its lag (age of the oldest not yet sent)."""
    from gru.connectors.deliveries import instance_status

    click.echo("instance\tpending\tretrying\tdelivered\tskipped\tdead\tlag_s")
    for row in instance_status():
        counts = row["deliveries"]
        click.echo("\t".join([row["name"], *(str(counts[key]) for key in
                                             ("pending", "retrying", "delivered", "skipped", "dead")),
                              f"{row['lag_seconds']:.1f}"]))


@connectors_group.command("deliveries")
@click.option("--instance", "instance_name", help="Only this instance's.")
@click.option("--party", "party_id", type=click.UUID, help="Only this party's.")
@click.option("--status", type=click.Choice(["pending", "retrying", "delivered", "skipped", "dead"]))
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@with_appcontext
@one_line_errors
def deliveries_command(instance_name, party_id, status, limit):
    """List deliveries, newest first: id, instance, event, party, sequence, status, attempts, last error."""
    from gru.connectors.deliveries import list_deliveries

    for delivery in list_deliveries(instance_name=instance_name, party_id=party_id, status=status, limit=limit):
        click.echo("\t".join(str(item) for item in (
            delivery.id, delivery.instance.name, delivery.event.type, delivery.party_id, delivery.sequence,
            delivery.status, delivery.attempts, delivery.last_error or "")))


@connectors_group.command("replay")
@click.argument("delivery_id", required=False)
@click.option("--instance", "instance_name", help="Replay every dead delivery of this instance.")
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead delivery.")
@with_appcontext
@one_line_errors
def replay_command(delivery_id, instance_name, replay_all):
    """Send dead deliveries again: one (DELIVERY_ID), an instance's (--instance) or all (--all)."""
    from gru.connectors.deliveries import replay_dead, replay_delivery
    from gru.errors import ValidationFailed
    from gru.extensions import db

    if sum(map(bool, (delivery_id, instance_name, replay_all))) != 1:
        raise ValidationFailed({"replay": ["Give one of DELIVERY_ID, --instance or --all."]})
    if delivery_id:
        replay_delivery(delivery_id)
        count = 1
    else:
        count = replay_dead(instance_name)
    db.session.commit()
    click.echo(f"replayed {count} dead deliveries")


@connectors_group.command("rekey")
@with_appcontext
@one_line_errors
def rekey_command():
    """Seal every instance's configuration under the newest key-encryption key version
    (after `gru keys rotate`, before `gru keys retire`)."""
    from gru.connectors.services import key_versions_in_use, rekey_instances
    from gru.extensions import db

    count = rekey_instances()
    db.session.commit()
    versions = ", ".join(f"v{version}: {n}" for version, n in sorted(key_versions_in_use().items())) or "none"
    click.echo(f"connectors: {count} configurations sealed again; key versions in use: {versions}")


@connectors_group.command("run")
@with_appcontext
@one_line_errors
def run_command():
    """Send every due delivery now, then stop (what `gru worker` does continuously)."""
    from flask import current_app

    from gru.connectors.runner import Dispatcher

    dispatcher = Dispatcher(current_app._get_current_object())
    try:
        dispatcher.drain()
    finally:
        dispatcher.close()
    click.echo("deliveries: nothing left due")
