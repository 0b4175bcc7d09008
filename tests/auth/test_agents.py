"""Agents: registration, local authentication, and the ``gru agents`` command."""

import pytest

from gru.auth.agents import agent_by_oidc_subject, authenticate_local, create_agent
from gru.errors import Conflict, ValidationFailed
from tests.test_cli import assert_one_line_error, gru

PASSWORD = "correct horse battery staple"


def test_create_agent_stores_an_argon2_hash_not_the_password(db_session):
    agent = create_agent("Marie.Dupont", "Marie Dupont", "agent", password=PASSWORD)

    assert agent.login == "marie.dupont"
    assert agent.password_hash.startswith("$argon2id$")
    assert PASSWORD not in agent.password_hash
    assert agent.is_active and agent.oidc_subject is None


def test_local_authentication(db_session):
    agent = create_agent("marie", "Marie", "supervisor", password=PASSWORD)

    assert authenticate_local("marie", PASSWORD) is agent
    assert authenticate_local("MARIE ", PASSWORD) is agent
    assert authenticate_local("marie", PASSWORD + "!") is None
    assert authenticate_local("nobody", PASSWORD) is None
    agent.is_active = False
    assert authenticate_local("marie", PASSWORD) is None


def test_oidc_agent_has_no_password(db_session):
    agent = create_agent("dwho", "Doctor Who", "agent", oidc_subject="dwho")

    assert agent_by_oidc_subject("dwho") is agent
    assert authenticate_local("dwho", "") is None
    assert agent_by_oidc_subject("rtyler") is None


@pytest.mark.parametrize(
    "arguments, field",
    [
        ({"login": "", "role": "agent", "password": PASSWORD}, "login"),
        ({"login": "a", "role": "boss", "password": PASSWORD}, "role"),
        ({"login": "a", "role": "agent"}, "credentials"),
        ({"login": "a", "role": "agent", "password": PASSWORD, "oidc_subject": "a"}, "credentials"),
        ({"login": "a", "role": "agent", "password": "short"}, "password"),
    ],
)
def test_invalid_agents_are_refused(db_session, arguments, field):
    with pytest.raises(ValidationFailed) as refused:
        create_agent(display_name=None, **arguments)
    assert field in refused.value.errors


def test_logins_and_subjects_are_unique(db_session):
    create_agent("marie", "Marie", "agent", oidc_subject="sub-1")
    with pytest.raises(Conflict):
        create_agent("marie", "Marie", "agent", password=PASSWORD)
    with pytest.raises(Conflict):
        create_agent("other", "Other", "agent", oidc_subject="sub-1")


def test_cli_creates_and_lists_agents_with_one_line_errors(tmp_path):
    instance = tmp_path / "instance"
    assert gru(instance, "init").returncode == 0

    created = gru_stdin(instance, PASSWORD + "\n", "agents", "create", "marie", "--role", "agent",
                        "--name", "Marie Dupont", "--password-stdin")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "agent marie: created (agent)"
    assert gru(instance, "agents", "create", "dwho", "--role", "dpo", "--oidc-subject", "dwho").returncode == 0

    listed = gru(instance, "agents", "list").stdout.splitlines()
    assert listed == ["dwho\tdpo\toidc:dwho\tactive\tdwho", "marie\tagent\tlocal\tactive\tMarie Dupont"]
    assert PASSWORD not in "".join(listed)

    assert "Give either --password-stdin or --oidc-subject" in assert_one_line_error(
        gru(instance, "agents", "create", "x", "--role", "agent"))
    assert "already exists" in assert_one_line_error(
        gru(instance, "agents", "create", "marie", "--role", "agent", "--oidc-subject", "m"))
    assert "password" in assert_one_line_error(
        gru_stdin(instance, "short\n", "agents", "create", "y", "--role", "agent", "--password-stdin"))
    wrong_role = gru(instance, "agents", "create", "z", "--role", "boss", "--oidc-subject", "z")
    assert wrong_role.returncode == 2 and "Traceback" not in wrong_role.stderr


def gru_stdin(instance, text, *args):
    import os
    import subprocess

    from tests.test_cli import COMMAND

    env = {name: value for name, value in os.environ.items() if not name.startswith(("GRU_", "FLASK_"))}
    env["GRU_INSTANCE_PATH"] = str(instance)
    return subprocess.run([*COMMAND, *args], env=env, cwd=instance.parent, input=text, capture_output=True,
                          text=True, timeout=120)
