"""The purposes register through the admin API (scope ``admin``, no personal data)."""

from tests.api_helpers import assert_problem
from tests.consent.conftest import CANTEEN, NEWSLETTER


def test_declare_read_update_retire(client, make_token):
    admin = make_token("admin-app", scopes=["admin"])
    created = client.post("/api/v1/purposes", json=NEWSLETTER, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["created_by"] == "application:admin-app" and created.get_json()["is_retired"] is False
    assert client.post("/api/v1/purposes", json={**CANTEEN}, headers=admin).status_code == 201
    assert_problem(client.post("/api/v1/purposes", json=NEWSLETTER, headers=admin), 409)

    listed = client.get("/api/v1/purposes", headers=admin).get_json()["items"]
    assert [(item["code"], item["lawful_basis"]) for item in listed] == [
        ("newsletter", "consent"), ("school_canteen", "public_task")]
    changed = client.patch("/api/v1/purposes/newsletter", json={"retention_text": "tant que l'abonnement dure"},
                           headers=admin).get_json()
    assert changed["retention_days"] is None and changed["retention_text"] == "tant que l'abonnement dure"
    assert client.delete("/api/v1/purposes/school_canteen", headers=admin).get_json()["is_retired"] is True
    assert [item["code"] for item in client.get("/api/v1/purposes", headers=admin).get_json()["items"]] == [
        "newsletter"]
    everything = client.get("/api/v1/purposes?include_retired=true", headers=admin).get_json()["items"]
    assert len(everything) == 2
    assert client.get("/api/v1/purposes/school_canteen", headers=admin).get_json()["retired_at"]
    assert_problem(client.delete("/api/v1/purposes/school_canteen", headers=admin), 409)
    assert_problem(client.get("/api/v1/purposes/nothing", headers=admin), 404)
    assert_problem(client.get("/api/v1/purposes/school%00canteen", headers=admin), 404)


def test_bad_purposes_are_422_naming_the_fields(client, make_token):
    admin = make_token("admin-app", scopes=["admin"])
    problem = assert_problem(client.post("/api/v1/purposes", headers=admin, json={
        **NEWSLETTER, "code": "Bad Code", "lawful_basis": "whim", "retention_days": -1}), 422)
    assert {"code", "lawful_basis", "retention_days"} <= set(problem["errors"])
    assert client.post("/api/v1/purposes", json=NEWSLETTER, headers=admin).status_code == 201
    renamed = assert_problem(client.patch("/api/v1/purposes/newsletter", headers=admin, json={"code": "other"}), 422)
    assert "code" in renamed["errors"]  # a code never changes: declare another purpose


def test_the_register_needs_the_admin_scope(client, make_token):
    reader = make_token("caf", scopes=["parties:read", "parties:write"])
    assert_problem(client.get("/api/v1/purposes", headers=reader), 403)
    assert_problem(client.post("/api/v1/purposes", json=NEWSLETTER, headers=reader), 403)
    assert_problem(client.get("/api/v1/purposes"), 401)


def test_contracts_state_consent_rights_validated(client, make_token):
    admin = make_token("admin-app", scopes=["admin"])
    make_token("caf")
    contract = {"purposes": ["newsletter"], "attributes": {"email": ["read"]}, "consents": ["read", "write"]}
    saved = client.put("/api/v1/applications/caf/contract", json=contract, headers=admin)
    assert saved.status_code == 200 and saved.get_json()["consents"] == ["read", "write"]
    problem = assert_problem(client.put("/api/v1/applications/caf/contract", headers=admin,
                                        json={**contract, "consents": ["read", "erase"]}), 422)
    assert "consents" in problem["errors"]
    without = client.put("/api/v1/applications/caf/contract", json={"purposes": ["newsletter"]}, headers=admin)
    assert without.get_json()["consents"] == []
