"""Identifiers and cross-references: unique, typed, kept in history."""

import pytest

from tests.api_helpers import assert_problem


@pytest.fixture
def company(client, headers):
    body = {"kind": "company", "attributes": {"legal_name": "Transports Kaloi SARL"}, "channel": "desk",
            "process": "official_proof_scan_checked"}
    return client.post("/api/v1/parties", json=body, headers=headers).get_json()["party"]["id"]


def test_ridet_identifies_one_company_only(client, headers, company, create_person):
    other = client.post(
        "/api/v1/parties",
        json={"kind": "company", "attributes": {"legal_name": "Autre"}, "channel": "desk", "process": "declared"},
        headers=headers,
    ).get_json()["party"]["id"]

    added = client.post(f"/api/v1/parties/{company}/identifiers", json={"type": "ridet", "value": "1023456.001"}, headers=headers)
    again = client.post(f"/api/v1/parties/{company}/identifiers", json={"type": "ridet", "value": "1023456.001"}, headers=headers)
    taken = client.post(f"/api/v1/parties/{other}/identifiers", json={"type": "ridet", "value": " 1023456.001 "}, headers=headers)

    assert added.status_code == 201 and again.status_code == 200
    assert assert_problem(taken, 409)["existing_party_id"] == company
    found = client.get("/api/v1/parties?identifier=ridet:1023456.001", headers=headers).get_json()["items"]
    assert [party["id"] for party in found] == [company]
    assert found[0]["identifiers"] == [{"type": "ridet", "value": "1023456.001"}]


@pytest.mark.parametrize(
    "identifier, field",
    [({"type": "siret", "value": "73282932000075"}, "value"), ({"type": "rna", "value": "W123456789"}, "type"),
     ({"type": "passport", "value": "X"}, "type")],
)
def test_identifier_validation(client, headers, company, identifier, field):
    response = client.post(f"/api/v1/parties/{company}/identifiers", json=identifier, headers=headers)
    assert field in assert_problem(response, 422)["errors"]


def test_removing_an_identifier_keeps_it_in_history(client, headers, company):
    client.post(f"/api/v1/parties/{company}/identifiers", json={"type": "siren", "value": "732829320"}, headers=headers)

    removed = client.delete(f"/api/v1/parties/{company}/identifiers/siren/732829320", headers=headers)

    assert removed.status_code == 204
    assert client.get(f"/api/v1/parties/{company}", headers=headers).get_json()["identifiers"] == []
    history = client.get(f"/api/v1/parties/{company}/history", headers=headers).get_json()["items"]
    assert [(entry["action"], entry["old"], entry["new"]) for entry in history if entry["subject"] == "identifier"] == [
        ("added", None, "732829320"), ("removed", "732829320", None)]


def test_cross_reference_maps_local_id_to_the_party(client, headers, create_person):
    party = create_person().get_json()["party"]["id"]

    added = client.post(f"/api/v1/parties/{party}/cross-references", json={"local_id": "DOS-2024-117"}, headers=headers)
    found = client.get("/api/v1/parties?xref=portail:DOS-2024-117", headers=headers).get_json()["items"]
    read = client.get(f"/api/v1/parties/{party}", headers=headers).get_json()

    assert added.status_code == 201 and added.get_json() == {"application": "portail", "local_id": "DOS-2024-117"}
    assert [item["id"] for item in found] == [party]
    assert found[0]["cross_references"] == [{"application": "portail", "local_id": "DOS-2024-117"}]
    assert read["cross_references"] == [{"application": "portail", "local_id": "DOS-2024-117"}]


def test_an_application_writes_only_its_own_cross_references(client, headers, create_person):
    party = create_person().get_json()["party"]["id"]
    response = client.post(
        f"/api/v1/parties/{party}/cross-references", json={"application": "caf", "local_id": "1"}, headers=headers
    )
    assert_problem(response, 403)


def test_a_local_id_names_one_party(client, headers, create_person):
    first = create_person().get_json()["party"]["id"]
    second = create_person(attributes={"family_name": "Poadja"}).get_json()["party"]["id"]
    client.post(f"/api/v1/parties/{first}/cross-references", json={"local_id": "42"}, headers=headers)

    taken = client.post(f"/api/v1/parties/{second}/cross-references", json={"local_id": "42"}, headers=headers)

    assert assert_problem(taken, 409)["existing_party_id"] == first
