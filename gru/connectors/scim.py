"""The ``scim`` connector (placeholder, replaced below)."""

from gru.connectors.base import Connector


class ScimConnector(Connector):
    type = "scim"
