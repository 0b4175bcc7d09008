import pytest

from tests.factories.auth import fetch_token, make_application


@pytest.fixture
def application(db_session):
    """A registered application with every scope, and its secret."""
    return make_application("portail")


@pytest.fixture
def headers(client, application):
    """Authorization headers carrying a real token from /oauth/token."""
    token = fetch_token(client, *application)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def create_person(client, headers):
    def create(attributes=None, process="original_document_checked", channel="desk"):
        body = {
            "kind": "person",
            "attributes": attributes
            or {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F"},
            "channel": channel,
            "process": process,
        }
        response = client.post("/api/v1/parties", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response

    return create
