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


def act_as_agent(login, purpose=None, case_ref=None):
    """Act from the command line as the active agent ``login``, under the desk contract,
    exactly as the desk pages do (:func:`gru.web.desk.open_desk`): ``g.caller``,
    ``g.purpose`` and ``g.case_ref`` are set, so that :mod:`gru.rest.access` filters what
    is shown and journals it under the agent. Returns the agent."""
    import uuid

    from flask import g

    from gru.auth.agents import get_agent
    from gru.auth.bearer import Caller
    from gru.auth.contracts import check_case_reference, resolve_purpose
    from gru.errors import Forbidden
    from gru.web.services import desk_contract

    agent = get_agent((login or "").strip().lower())
    if agent is None or not agent.is_active:
        raise Forbidden(f"No active agent has the login {login!r}.")
    code, contract = desk_contract()
    if contract is None:
        raise Forbidden(f"The desk application {code!r} or its service contract is missing "
                        f"(`gru apps create {code}`, then `gru contracts set {code} ...`).")
    g.agent = agent
    g.caller = Caller(type="agent", id=agent.login, client_id="", scopes=frozenset(), claims={}, contract=contract,
                      may_correct_below_level=agent.role == "supervisor")
    g.purpose = resolve_purpose(contract, purpose)
    g.case_ref = check_case_reference(case_ref)
    g.request_id = uuid.uuid4().hex
    return agent


def require_role(agent, *roles):
    from gru.errors import Forbidden

    if agent.role not in roles:
        raise Forbidden(f"Agent {agent.login!r} is {agent.role}; this needs the role {' or '.join(roles)}.")
