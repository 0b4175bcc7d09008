"""scim2-server (the reference SCIM 2.0 server of the python-scim project) on 127.0.0.1.

Served in-process by werkzeug in a thread, with the default RFC 7643 schemas and resource
types plus the hub's extension schema declared on User, and its ``check_auth`` checking
bearer tokens against the test identity provider (its own ``--bearer-token`` option only
knows static tokens, and the hub's tokens come from the provider).
"""

import threading

from scim2_models import ResourceType, Schema, ScimProvider, UnauthorizedException
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import load_default_resource_types, load_default_schemas, load_default_service_provider_config
from werkzeug.serving import make_server

from gru.connectors.scim import EXTENSION, extension_schema


class ProviderTokenApplication(BearerTokenApplication):
    def __init__(self, storage, provider, service, tokens):
        super().__init__(storage, provider, service=service)
        self.tokens = tokens
        self.calls = []

    def check_auth(self, request):
        self.calls.append((request.method, request.path))
        if self.tokens is not None and not self.tokens.is_valid(request.header("Authorization") or ""):
            raise UnauthorizedException


class ScimServer:
    def __init__(self, tokens=None):
        schemas = list(load_default_schemas().values()) + [Schema.model_validate(extension_schema())]
        types = []
        for resource_type in load_default_resource_types().values():
            document = resource_type.model_dump()
            if document.get("name") == "User":
                document["schemaExtensions"] = [*(document.get("schemaExtensions") or []),
                                                {"schema": EXTENSION, "required": False}]
            types.append(ResourceType.model_validate(document))
        config = load_default_service_provider_config()
        config.authentication_schemes = [BEARER_TOKEN_SCHEME]
        provider = ScimProvider.from_discovery(schemas, types, config=config)
        self.storage = InMemoryStorage()
        self.app = ProviderTokenApplication(self.storage, provider, ScimService(provider, secret="tests"), tokens)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/v2"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def resources(self):
        return [resource.model_dump() for resource in self.storage.resources]

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
