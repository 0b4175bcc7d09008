"""``gru search``: rebuild the search index, look for duplicates, search and match from
the shell.

``find`` and ``match`` act as an agent (``--agent``) under the desk contract, as the
desk pages do: they show what that contract lets the agent read and journal every party
shown (:mod:`gru.identity.search.disclosure`).
"""

import json

import click
from flask.cli import with_appcontext

from gru.cli_support import act_as_agent, one_line_errors

AGENT = click.option("--agent", "agent_login", required=True, help="Login of the agent acting (journaled).")
PURPOSE = click.option("--purpose", help="Purpose of the access (journaled); default: the desk contract's only one.")
CASE_REF = click.option("--case-ref", help="Case reference of the procedure (journaled).")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print the answer as the API gives it (JSON).")


def agent_options(command):
    """``--agent``, ``--purpose``, ``--case-ref`` and ``--json``: what every command acting
    as an agent takes (in that order in its help)."""
    for option in (AS_JSON, CASE_REF, PURPOSE, AGENT):
        command = option(command)
    return command


@click.group("search")
def search_group():
    """Search index, duplicate detection, search and match."""


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


@search_group.command("find")
@click.argument("query")
@click.option("--birth-date", help="YYYY-MM-DD (00 for an unknown day or month): ranks, does not filter.")
@click.option("--kind", type=click.Choice(("person", "household", "association", "company")))
@click.option("--commune", help="INSEE code of the birth place or address commune: ranks, does not filter.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 50))
@agent_options
@with_appcontext
@one_line_errors
def find_command(query, birth_date, kind, commune, limit, agent_login, purpose, case_ref, as_json):
    """Find parties by name (typos, accents, maiden names, swapped names): best first."""
    from flask import g

    from gru.errors import Forbidden
    from gru.extensions import db
    from gru.identity.search import disclosure, service
    from gru.rest import access

    act_as_agent(agent_login, purpose, case_ref)
    contract = g.caller.contract
    if kind:
        access.check_kind(kind)
    fields = service.searchable_fields(contract, kind)
    if not fields:
        raise Forbidden("The desk contract does not allow searching on any name.")
    if birth_date:
        access.check_searchable(["birth_date"])
    hits = service.search(query, fields=fields, kinds=[kind] if kind else list(contract.party_kinds),
                          birth_date=birth_date, commune=commune, limit=limit)
    items = disclosure.search_items(hits)
    disclosure.journal_parties("identity:party:search", items)
    db.session.commit()
    if as_json:
        click.echo(json.dumps({"items": items}, default=str, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("no party found")
    for item in items:
        reasons = ", ".join(f"{reason.get('field', reason.get('query'))} {reason['agreement']}"
                            for reason in item["reasons"])
        click.echo(f"{item['score']:.3f}  {party_line(item['party'])}  ({reasons})")


@search_group.command("match")
@click.option("--kind", default="person", show_default=True,
              type=click.Choice(("person", "household", "association", "company")))
@click.option("-a", "--attribute", "pairs", multiple=True, required=True, metavar="KEY=VALUE",
              help="An attribute of the identity (repeat); a value starting with { is read as JSON.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 50))
@agent_options
@with_appcontext
@one_line_errors
def match_command(kind, pairs, limit, agent_login, purpose, case_ref, as_json):
    """Do we know this person? Candidates with score, decision and per-field explanation."""
    from gru.extensions import db
    from gru.identity.search import disclosure, duplicates
    from gru.rest import access

    attributes = _attributes(pairs)
    act_as_agent(agent_login, purpose, case_ref)
    access.check_kind(kind)
    access.check_searchable(list(attributes))
    candidates = disclosure.candidates(duplicates.find_matches(kind, attributes, kinds=[kind], limit=limit))
    disclosure.journal_parties("identity:party:match", candidates)
    db.session.commit()
    decision = candidates[0]["decision"] if candidates else "none"
    if as_json:
        click.echo(json.dumps({"decision": decision, "candidates": candidates}, default=str, ensure_ascii=False,
                              indent=2))
        return
    click.echo(f"decision: {decision}")
    for item in candidates:
        fields = ", ".join(f"{key} {value['agreement']}" for key, value in item["explanation"].items())
        click.echo(f"{item['decision']:8s} {item['score']:.3f}  {party_line(item['party'])}  ({fields})")


def _attributes(pairs):
    attributes = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--attribute")
        if value.lstrip().startswith("{"):
            try:
                value = json.loads(value)
            except ValueError as error:
                raise click.BadParameter(f"{key}: not JSON ({error})", param_hint="--attribute") from None
        attributes[key.strip()] = value
    return attributes


def party_line(document):
    """One line naming a party as the agent may read it: id, kind, names, birth date."""
    attributes = document.get("attributes", {})
    if document.get("kind") == "person":
        names = " ".join(filter(None, (attributes.get("family_name"),
                                       f"({attributes['usage_name']})" if attributes.get("usage_name") else None,
                                       attributes.get("given_names"))))
        details = attributes.get("birth_date") or ""
    else:
        names = attributes.get("legal_name") or attributes.get("name") or ""
        details = " ".join(str(attributes[key]) for key in ("siret", "siren", "ridet", "rna") if attributes.get(key))
    status = "" if document.get("status", "active") == "active" else f" [{document['status']}]"
    return f"{document['id']}  {document.get('kind', '')}  {names or '(names not readable)'}  {details}".rstrip() + status
