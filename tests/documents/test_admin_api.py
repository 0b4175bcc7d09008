"""Key rotation and purge through the admin API (scope ``admin``)."""

from tests.api_helpers import assert_problem
from tests.documents.conftest import pdf


def test_rotate_list_retire_through_the_api(client, upload, make_token, memory_keys):
    admin = make_token("admin-app", scopes=["admin"])
    document_id = upload().get_json()["id"]

    assert client.get("/api/v1/vault/keys", headers=admin).get_json() == {
        "current_version": 1, "items": [{"version": 1, "data_keys": 1}]}
    rotation = client.post("/api/v1/vault/keys/rotation", headers=admin)
    assert rotation.get_json() == {"version": 2, "is_new_version": True, "rewrapped": 1}
    assert_problem(client.delete("/api/v1/vault/keys/2", headers=admin), 409)
    assert client.delete("/api/v1/vault/keys/1", headers=admin).status_code == 204
    assert_problem(client.delete("/api/v1/vault/keys/1", headers=admin), 404)
    reader = make_token("reader", scopes=["documents:read"])
    assert client.get(f"/api/v1/documents/{document_id}/content", headers=reader).data == pdf()
    assert_problem(client.post("/api/v1/vault/keys/rotation", headers=reader), 403)


def test_purge_dry_run_then_real_through_the_api(client, upload, make_token):
    admin = make_token("admin-app", scopes=["admin"])
    old = upload(issued_on="2000-01-01", expires_on="2001-01-01").get_json()["id"]
    upload(pdf(3000))

    dry = client.post("/api/v1/vault/purge?dry_run=true", headers=admin).get_json()
    assert dry["dry_run"] is True and [item["id"] for item in dry["items"]] == [old]
    real = client.post("/api/v1/vault/purge", headers=admin).get_json()
    assert [item["id"] for item in real["items"]] == [old]
    assert client.post("/api/v1/vault/purge", headers=admin).get_json()["items"] == []
