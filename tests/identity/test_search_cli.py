"""The search, match, review, merge and unmerge journeys from the command line: an agent
acting under the desk contract sees and changes what the pages and the API would, every
party shown is journaled under the agent, and a refusal is one line."""

import re

import pytest
from flask import current_app
from sqlalchemy import select

from gru.audit.models import JournalEntry
from gru.auth.agents import create_agent
from gru.auth.contracts import full_access_document
from gru.identity.models import Party
from gru.identity.search import duplicates
from gru.identity.search.cli import find_command, match_command
from gru.identity.search.duplicates_cli import (
    list_command,
    merge_command,
    not_duplicate_command,
    review_command,
    show_command,
    unmerge_command,
)
from tests.factories.auth import make_application
from tests.factories.identity import make_party

ELISE = {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def desk(db_session):
    catalogue = current_app.extensions["gru.catalogue"]
    make_application("desk", contract=full_access_document(catalogue, purposes=["accueil"]))
    create_agent("marie", "Marie Agent", "agent", oidc_subject="sub-marie")
    create_agent("paul", "Paul Superviseur", "supervisor", oidc_subject="sub-paul")
    first = make_party(attributes=ELISE)
    second = make_party(attributes={**ELISE, "family_name": "Wamitan", "birth_date": "1987-03-15"})
    db_session.commit()  # as a loaded instance: a refused command rolls back its own work only
    return first, second


def run(app, command, *args):
    return app.test_cli_runner().invoke(command, [str(arg) for arg in args])


def ok(result):
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    return result.stdout


def one_line_error(result):
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _journal(db_session, action):
    return db_session.scalars(select(JournalEntry).where(JournalEntry.action == action)).all()


def test_an_agent_finds_and_matches_a_person_and_it_is_journaled(app, desk, db_session):
    first, second = desk
    found = ok(run(app, find_command, "elise wamitan", "--birth-date", "1987-03-14", "--agent", "marie"))
    lines = found.strip().splitlines()
    assert str(first.id) in lines[0] and "1987-03-14" in lines[0]  # the exact birth date ranks first
    assert str(second.id) in found
    entries = _journal(db_session, "identity:party:search")
    assert {(entry.actor_type, entry.actor_id, entry.purpose) for entry in entries} == {("agent", "marie", "accueil")}
    assert {entry.party_id for entry in entries} == {str(first.id), str(second.id)}

    matched = ok(run(app, match_command, "-a", "family_name=Wamytan", "-a", "given_names=Elise Marie",
                     "-a", "birth_date=1987-03-14", "-a", "sex=F", "--agent", "marie"))
    assert matched.splitlines()[0] == "decision: match"
    assert matched.splitlines()[1].startswith("match") and str(first.id) in matched.splitlines()[1]
    assert _journal(db_session, "identity:party:match")


def test_review_merge_and_unmerge_from_the_command_line(app, desk, db_session):
    first, second = desk
    duplicates.detect_pending()
    listed = ok(run(app, list_command, "--agent", "marie"))
    suspicion_id = UUID.search(listed).group(0)
    assert str(first.id) in listed and str(second.id) in listed
    shown = ok(run(app, show_command, suspicion_id, "--agent", "marie"))
    assert re.search(r"birth_date\s+1987-03-14\s+1987-03-15\s+typo", shown)
    assert "locked by agent:paul" in ok(run(app, review_command, suspicion_id, "--agent", "paul"))
    assert "agent:paul" in one_line_error(run(app, not_duplicate_command, suspicion_id, "--agent", "marie"))

    assert "supervisor" in one_line_error(run(app, merge_command, first.id, second.id, "--agent", "marie"))
    merged = ok(run(app, merge_command, first.id, second.id, "--suspicion", suspicion_id, "--reason", "même acte",
                    "--agent", "paul"))
    merge_id = UUID.search(merged).group(0)
    assert f"{second.id} merged into {first.id}" in merged
    db_session.expire_all()
    assert db_session.get(Party, second.pk).status == "merged"
    assert _journal(db_session, "identity:party:merge")[0].actor_id == "paul"

    undone = ok(run(app, unmerge_command, merge_id, "--agent", "paul"))
    assert f"merge {merge_id} undone" in undone
    db_session.expire_all()
    assert db_session.get(Party, second.pk).status == "active"
    assert "already undone" in one_line_error(run(app, unmerge_command, merge_id, "--agent", "paul"))


def test_an_unknown_agent_or_a_bad_attribute_is_one_line(app, desk):
    assert "No active agent" in one_line_error(run(app, find_command, "wamytan", "--agent", "nobody"))
    result = run(app, match_command, "-a", "family_name", "--agent", "marie")
    assert result.exit_code == 2 and "KEY=VALUE" in result.stderr
    assert "birth_date" in one_line_error(run(app, match_command, "-a", "birth_date=1987-13-45", "--agent", "marie"))
