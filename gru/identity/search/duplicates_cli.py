"""``gru duplicates``: review suspected duplicates, merge and unmerge from the shell.

The same services as the API and the desk pages, acting as an agent (``--agent``)
under the desk contract: what is shown is what that contract lets the agent read, and
every party shown or changed is journaled. Merging and unmerging need a supervisor.
"""

import json

import click
from flask.cli import with_appcontext

from gru.cli_support import act_as_agent, one_line_errors, require_role
from gru.identity.search.cli import agent_options, party_line

DESK_ROLES = ("agent", "supervisor")


@click.group("duplicates")
def duplicates_group():
    """Suspected duplicates: list, show side by side, review, decide, merge, unmerge."""


def _echo_json(document):
    click.echo(json.dumps(document, default=str, ensure_ascii=False, indent=2))


def _echo_suspicion(document, with_fields=False):
    locked = f", locked by {document['locked_by']}" if document["status"] == "open" and document["locked_by"] else ""
    click.echo(f"{document['id']}  {document['status']}  {document['decision']} {document['score']:.3f}{locked}")
    for party in document["parties"]:
        click.echo(f"  {party_line(party)}")
    if with_fields:
        left, right = (party["attributes"] for party in document["parties"])
        for key in dict.fromkeys(list(left) + list(right)):
            agreement = document["explanation"].get(key, {}).get("agreement", "")
            click.echo(f"  {key:16s} {_shown(left.get(key)):32s} {_shown(right.get(key)):32s} {agreement}")


def _shown(value):
    return "-" if value is None else json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else str(value)


@duplicates_group.command("list")
@click.option("--status", default="open", show_default=True, type=click.Choice(("open", "not_duplicate", "merged")))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
@agent_options
@with_appcontext
@one_line_errors
def list_command(status, limit, agent_login, purpose, case_ref, as_json):
    """Suspected duplicates, oldest first, both parties of each."""
    from gru.extensions import db
    from gru.identity.search import disclosure, duplicates

    require_role(act_as_agent(agent_login, purpose, case_ref), *DESK_ROLES)
    documents = disclosure.visible_suspicions(duplicates.list_suspicions(status, limit=limit))
    disclosure.journal_suspicions("identity:duplicate:list", documents)
    db.session.commit()
    if as_json:
        return _echo_json({"items": documents})
    if not documents:
        click.echo(f"no {status} suspicion")
    for document in documents:
        _echo_suspicion(document)


def _suspicion_command(name, action, help_text):
    """A command taking one suspicion id, calling ``action(suspicion_id, reviewer)``."""

    @duplicates_group.command(name, help=help_text)
    @click.argument("suspicion_id", type=click.UUID)
    @agent_options
    @with_appcontext
    @one_line_errors
    def command(suspicion_id, agent_login, purpose, case_ref, as_json):
        from gru.extensions import db
        from gru.identity.search import disclosure, duplicates
        from gru.rest import access

        agent = act_as_agent(agent_login, purpose, case_ref)
        require_role(agent, *DESK_ROLES)
        suspicion, journal_action = action(suspicion_id, f"agent:{agent.login}")
        for party in duplicates.parties_of(suspicion):
            access.check_kind(party.kind)
        document = disclosure.suspicion_document(suspicion)
        disclosure.journal_suspicions(journal_action, [document])
        db.session.commit()
        if as_json:
            return _echo_json(document)
        _echo_suspicion(document, with_fields=True)

    return command


def _show(suspicion_id, _reviewer):
    from gru.identity.search import duplicates

    return duplicates.get_suspicion(suspicion_id), "identity:duplicate:read"


def _review(suspicion_id, reviewer):
    from gru.identity.search import duplicates

    return duplicates.start_review(suspicion_id, reviewer), "identity:duplicate:review"


def _not_duplicate(suspicion_id, reviewer):
    from gru.identity.search import duplicates

    return duplicates.decide_not_duplicate(suspicion_id, reviewer), "identity:duplicate:decide"


show_command = _suspicion_command("show", _show, "One suspicion: both parties side by side, field by field.")
review_command = _suspicion_command(
    "review", _review, "Take the suspicion for review: locked for the others for 15 minutes.")
not_duplicate_command = _suspicion_command(
    "not-duplicate", _not_duplicate, "Two distinct parties: remembered, the pair is never proposed again.")


@duplicates_group.command("merge")
@click.argument("survivor_id", type=click.UUID)
@click.argument("merged_id", type=click.UUID)
@click.option("--suspicion", "suspicion_id", type=click.UUID, help="The suspicion this merge settles.")
@click.option("--reason", help="Why (kept with the merge).")
@agent_options
@with_appcontext
@one_line_errors
def merge_command(survivor_id, merged_id, suspicion_id, reason, agent_login, purpose, case_ref, as_json):
    """Merge MERGED_ID into SURVIVOR_ID (supervisors): nothing is lost; prints the merge id."""
    from gru.extensions import db
    from gru.identity.search import disclosure, merge
    from gru.rest import access

    require_role(act_as_agent(agent_login, purpose, case_ref), "supervisor")
    document = merge.merge_document(merge.merge(survivor_id, merged_id, access.current_actor(), reason, suspicion_id))
    disclosure.journal_merge("identity:party:merge", document)
    db.session.commit()
    if as_json:
        return _echo_json(document)
    moved = ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in document["moved"].items() if count)
    click.echo(f"merge {document['id']}: {document['merged_id']} merged into {document['survivor_id']}"
               f" (moved: {moved or 'nothing'})")


@duplicates_group.command("unmerge")
@click.argument("merge_id", type=click.UUID)
@agent_options
@with_appcontext
@one_line_errors
def unmerge_command(merge_id, agent_login, purpose, case_ref, as_json):
    """Undo a merge (supervisors): both parties as they were; says what it could not tell."""
    from gru.extensions import db
    from gru.identity.search import disclosure, merge, unmerge
    from gru.rest import access

    require_role(act_as_agent(agent_login, purpose, case_ref), "supervisor")
    document = merge.merge_document(unmerge.unmerge(merge_id, access.current_actor()))
    disclosure.journal_merge("identity:party:unmerge", document)
    db.session.commit()
    if as_json:
        return _echo_json(document)
    report = document["unmerge_report"]
    click.echo(f"merge {document['id']} undone: {document['merged_id']} restored beside {document['survivor_id']}")
    for title, key in (("placed on the restored party", "placed_on_merged"), ("kept on the survivor", "kept_on_survivor")):
        items = [f"{name.replace('_', ' ')}: {', '.join(values)}" for name, values in report[key].items() if values]
        if items:
            click.echo(f"  {title}: " + "; ".join(items))
    if report["note"]:
        click.echo(f"  {report['note']}")
