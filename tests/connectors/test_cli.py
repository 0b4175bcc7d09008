"""``gru connectors`` as an administrator runs it (subprocess, embedded SQLite instance)."""

import json

from tests.test_cli import assert_one_line_error, gru, initialised, initialised_template, instance  # noqa: F401

SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="


def _contract(path):
    path.write_text(json.dumps({"purposes": ["notify"], "attributes": {"postal_address": ["read"]},
                                "events": ["party.updated"]}))
    return str(path)


def test_create_show_update_status_and_replay(initialised, tmp_path):  # noqa: F811
    assert gru(initialised, "apps", "create", "ccas").returncode == 0
    assert gru(initialised, "contracts", "set", "ccas", "--file", _contract(tmp_path / "c.json")).returncode == 0
    config = {"url": "http://127.0.0.1:9/events", "secrets": [SECRET], "token_url": "http://127.0.0.1:9/token",
              "client_id": "ccas", "client_secret": "very-secret-value"}
    created = gru(initialised, "connectors", "create", "ccas-webhook", "--type", "webhook", "--application", "ccas",
                  "--config", json.dumps(config))
    assert created.returncode == 0, created.stderr
    document = json.loads(created.stdout)
    assert document["config"]["client_secret"] == "********" and document["config"]["secrets"] == ["********"]
    assert "very-secret-value" not in created.stdout and SECRET not in created.stdout
    shown = gru(initialised, "connectors", "show", "ccas-webhook")
    assert json.loads(shown.stdout)["config"]["url"] == config["url"]
    # masked secrets sent back are kept
    update = {**json.loads(shown.stdout)["config"], "url": "http://127.0.0.1:9/v2/events"}
    updated = gru(initialised, "connectors", "update", "ccas-webhook", "--config", json.dumps(update), "--disable")
    assert updated.returncode == 0, updated.stderr
    assert json.loads(updated.stdout)["is_enabled"] is False
    listed = gru(initialised, "connectors", "list")
    assert listed.stdout.split() == ["ccas-webhook", "webhook", "ccas", "disabled"]
    types = gru(initialised, "connectors", "types")
    assert {line.split("\t")[0] for line in types.stdout.splitlines()} == {"webhook", "scim", "null"}
    status = gru(initialised, "connectors", "status")
    assert status.stdout.splitlines()[1].split("\t")[:6] == ["ccas-webhook", "0", "0", "0", "0", "0"]
    assert gru(initialised, "connectors", "replay", "--all").stdout.strip() == "replayed 0 dead deliveries"
    assert gru(initialised, "keys", "rotate").returncode == 0
    rekeyed = gru(initialised, "connectors", "rekey")
    assert rekeyed.stdout.strip() == "connectors: 1 configurations sealed again; key versions in use: v2: 1"
    assert json.loads(gru(initialised, "connectors", "show", "ccas-webhook").stdout)["config"]["url"].endswith("/v2/events")


def test_errors_are_one_line(initialised):  # noqa: F811
    assert gru(initialised, "apps", "create", "crm").returncode == 0
    assert_one_line_error(gru(initialised, "connectors", "create", "x", "--type", "ftp", "--application", "crm",
                              "--config", "{}"))
    line = assert_one_line_error(gru(initialised, "connectors", "create", "x", "--type", "webhook",
                                     "--application", "crm", "--config", '{"url": "nope"}'))
    assert "config.url" in line and "config.secrets" in line
    assert_one_line_error(gru(initialised, "connectors", "show", "missing"))
    assert_one_line_error(gru(initialised, "connectors", "replay", "not-a-uuid"))
    assert_one_line_error(gru(initialised, "connectors", "replay"))
