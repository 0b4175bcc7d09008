"""Small helpers shared by the API tests."""

PROBLEM = "application/problem+json"


def assert_problem(response, status):
    """The answer is an RFC 9457 problem with this status, and carries no trace."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["title"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "SELECT" not in text and "sqlalchemy" not in text.lower()
    return body
