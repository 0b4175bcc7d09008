import uuid

from flask import current_app

from gru.auth.contracts import full_access_document, set_contract
from gru.auth.services import register_application

FULL_ACCESS = object()


def make_application(code=None, scopes=None, name=None, contract=FULL_ACCESS, client_id=None):
    """Register an application with a contract; returns ``(application, client_secret)``.

    By default the contract grants every right for the single purpose ``test``; pass a
    contract document to narrow it, or ``None`` for an application without contract.
    """
    code = code or f"app-{uuid.uuid4().hex[:8]}"
    application, secret = register_application(code, name or code.title(), scopes, client_id=client_id)
    catalogue = current_app.extensions["gru.catalogue"]
    if contract is FULL_ACCESS:
        contract = full_access_document(catalogue, purposes=["test"])
    if contract is not None:
        set_contract(code, contract, catalogue, author="tests")
    return application, secret


def fetch_token(client, application, secret, scope=None):
    """A real access token from the hub's token endpoint."""
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = client.post("/oauth/token", data=data, auth=(application.client_id, secret))
    assert response.status_code == 200, response.json
    return response.json["access_token"]
