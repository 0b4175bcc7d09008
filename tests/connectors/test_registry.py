"""Connector types come from the ``gru.connectors`` entry points, only the enabled ones;
the README's example of a connector in another package works as written."""

import json
import pathlib
import re
import threading
from datetime import datetime, timezone
from importlib.metadata import EntryPoint

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from gru.connectors import registry
from gru.connectors.base import Message, parse_retry_after
from gru.connectors.null import NullConnector
from gru.connectors.webhook import WebhookConnector
from gru.errors import ConfigurationError

README = pathlib.Path(__file__).parents[2] / "README.md"


def test_only_enabled_types_load():
    assert registry.load_connector_types("webhook null") == {"webhook": WebhookConnector, "null": NullConnector}
    assert registry.load_connector_types([]) == {}


def test_an_unknown_or_broken_type_is_a_configuration_error(monkeypatch):
    with pytest.raises(ConfigurationError, match="no package registers it"):
        registry.load_connector_types("webhook,smtp")
    fake = EntryPoint("notaconnector", "json:dumps", registry.GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [fake])
    with pytest.raises(ConfigurationError, match="is not a gru.connectors.base.Connector"):
        registry.load_connector_types("notaconnector")


def test_retry_after_is_seconds_or_an_http_date():
    now = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Tue, 01 Dec 2026 08:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


class _Crm:
    """The CRM of the README's example: /contacts, answers the new contact's id."""

    def __init__(self):
        self.calls = []
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        self.calls.append((request.method, request.path, request.headers.get("X-Api-Key"), request.get_json()))
        body = json.dumps({"id": "CRM-1"}) if request.method == "POST" else "{}"
        return Response(body, status=201 if request.method == "POST" else 200,
                        content_type="application/json")(environ, start_response)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def test_the_readme_example_connector_works():
    text = README.read_text()
    (code,) = re.findall(r"```python\n(# gru_crm/connector.py\n.*?)```", text, re.S)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    crm_type = namespace["CrmConnector"]
    config = crm_type.config_schema().load({"base_url": "http://127.0.0.1:1", "api_key": "k"})
    assert "api_key" in crm_type.secret_fields and config["token_url"] is None
    crm = _Crm()
    try:
        connector = crm_type("crm", {**config, "base_url": crm.url})
        message = Message(event_id="e1", type="party.updated", party_id="p1", party_kind="person", sequence=2,
                          occurred_at=datetime.now(timezone.utc),
                          payload={"party": {"id": "p1", "kind": "person", "attributes": {"email": "a@example.nc"}}})
        outcome = connector.deliver(message)
        assert (outcome.status, outcome.local_id) == ("delivered", "CRM-1")
        message.local_id = "CRM-1"
        assert connector.deliver(message).status == "delivered"
        assert [(method, path, key) for method, path, key, _ in crm.calls] == [
            ("POST", "/contacts", "k"), ("PUT", "/contacts/CRM-1", "k")]
        assert crm.calls[0][3] == {"hub_id": "p1", "event_id": "e1", "email": "a@example.nc"}
    finally:
        crm.stop()
