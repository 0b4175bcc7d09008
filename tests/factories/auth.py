import uuid

from gru.auth.services import register_application


def make_application(code=None, scopes=None, name=None):
    """Register an application; returns ``(application, client_secret)``."""
    code = code or f"app-{uuid.uuid4().hex[:8]}"
    return register_application(code, name or code.title(), scopes)


def fetch_token(client, application, secret, scope=None):
    """A real access token from the hub's token endpoint."""
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = client.post("/oauth/token", data=data, auth=(application.client_id, secret))
    assert response.status_code == 200, response.json
    return response.json["access_token"]
