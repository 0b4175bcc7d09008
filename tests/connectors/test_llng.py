"""Tokens from a real LemonLDAP::NG provider (tests/support/llng.py), when installed
(scripts/install-llng.sh); skipped with the reason otherwise.

The receiver accepts only access tokens signed by a key the provider publishes now. The
provider is then restarted with a new signing key (LemonLDAP::NG replaces its key in one
step): the connector's cached token is refused with a 401, it fetches a new one and the
delivery goes through on the retry, with no failure recorded.
"""

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from gru.connectors.dispatch import list_deliveries
from gru.connectors.webhook import new_secret
from gru.extensions import db
from tests.connectors.receivers import Receiver
from tests.factories.identity import make_party
from tests.support.llng import LemonLDAP, _free_port, llng_available


class JwksTokens:
    """Bearer tokens valid when signed by a key of the provider's JWKS, fetched each time."""

    def __init__(self, provider):
        self.provider = provider

    def is_valid(self, header):
        if not header or not header.startswith("Bearer "):
            return False
        keys = KeySet.import_key_set(requests.get(self.provider.jwks_uri, timeout=10).json())
        try:
            jwt.decode(header[7:], keys, algorithms=["RS256"])
        except Exception:  # noqa: BLE001 - any failure is a refusal
            return False
        return True


@pytest.fixture
def llng(tmp_path):
    ok, reason = llng_available()
    if not ok:
        pytest.skip(reason)
    provider = LemonLDAP(tmp_path / "llng", port=_free_port())  # the same URL after a restart
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


def test_tokens_from_lemonldap_and_a_key_replaced_in_one_step(llng, make_instance, dispatcher, db_session):
    receiver = Receiver(JwksTokens(llng))
    try:
        make_instance("webhook", config={"url": receiver.url, "secrets": [new_secret()],
                                         "token_url": llng.token_endpoint, "client_id": llng.cc_client_id,
                                         "client_secret": llng.cc_client_secret, "scope": "openid"})
        make_party()
        db.session.commit()
        dispatcher.drain()
        assert len(receiver.applied) == 1, [(d.status, d.last_error) for d in list_deliveries()]
        llng.stop()
        llng.start()  # a new signing key, the old one gone at once
        make_party()
        db.session.commit()
        dispatcher.drain()
        assert len(receiver.applied) == 2, [(d.status, d.last_error) for d in list_deliveries()]
        assert [r["headers"]["Authorization"] != "" for r in receiver.requests].count(True) == 3  # one 401
        assert {delivery.status for delivery in list_deliveries()} == {"delivered"}
    finally:
        receiver.stop()
