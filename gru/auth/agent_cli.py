"""``gru agents``: register the agents who sign in to the hub's pages, and list them."""

import sys

import click
from flask.cli import with_appcontext

from gru.cli_support import one_line_errors


@click.group("agents")
def agents_group():
    """Agents of the pages (local accounts or OIDC subjects) and their roles."""


@agents_group.command("create")
@click.argument("login")
@click.option("--role", required=True, type=click.Choice(["agent", "supervisor", "dpo", "admin"]),
              help="agent, supervisor, dpo or admin.")
@click.option("--name", help="Name shown on the pages; default: the login.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (local login).")
@click.option("--oidc-subject", help="The agent's `sub` at the OIDC provider (GRU_AGENT_LOGIN=oidc).")
@with_appcontext
@one_line_errors
def create_agent_command(login, role, name, password_stdin, oidc_subject):
    """Register agent LOGIN with a local password or an OIDC subject."""
    from gru.auth.agents import create_agent
    from gru.errors import ValidationFailed
    from gru.extensions import db

    if password_stdin == bool(oidc_subject):
        raise ValidationFailed({"credentials": ["Give either --password-stdin or --oidc-subject."]})
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    agent = create_agent(login, name, role, password=password, oidc_subject=oidc_subject)
    db.session.commit()
    click.echo(f"agent {agent.login}: created ({agent.role})")


@agents_group.command("list")
@with_appcontext
@one_line_errors
def list_agents_command():
    """List agents: login, role, login method, state (never a password hash)."""
    from gru.auth.agents import list_agents

    for agent in list_agents():
        method = f"oidc:{agent.oidc_subject}" if agent.oidc_subject else "local"
        state = "active" if agent.is_active else "disabled"
        click.echo(f"{agent.login}\t{agent.role}\t{method}\t{state}\t{agent.display_name}")
