"""Connectors: every change reaches the entitled business applications.

Connector types are classes found through the ``gru.connectors`` entry points
(:mod:`gru.connectors.registry`); instances are rows (:mod:`gru.connectors.models`);
deliveries are fanned out with each event, in its transaction
(:func:`gru.connectors.dispatch.fan_out`), and sent by ``gru worker``
(:mod:`gru.connectors.runner`).
"""

import time

from gru.connectors.registry import load_connector_types


class ConnectorsState:
    """What the app keeps for the connectors: the loaded types and a subscriptions cache."""

    def __init__(self, app):
        self.types = load_connector_types(app.config["GRU_CONNECTORS_ENABLED"])
        self.ttl = int(app.config["GRU_CONTRACT_CACHE_SECONDS"])
        self._subscriptions = None
        self.dispatcher = None

    def subscriptions(self, session):
        """Subscribing instances, cached ``GRU_CONTRACT_CACHE_SECONDS`` like contracts."""
        from gru.connectors.dispatch import subscriptions

        now = time.monotonic()
        if self._subscriptions is not None and self._subscriptions[0] > now:
            return self._subscriptions[1]
        found = subscriptions(session)
        if self.ttl > 0:
            self._subscriptions = (now + self.ttl, found)
        return found

    def forget_subscriptions(self):
        self._subscriptions = None


def init_app(app):
    from gru.connectors.dispatch import fan_out
    from gru.events.services import on_events_recorded

    from gru.connectors.services import key_versions_in_use
    from gru.crypto import register_key_user

    app.extensions["gru.connectors"] = ConnectorsState(app)
    register_key_user(app, "connectors", key_versions_in_use)
    on_events_recorded(fan_out)
