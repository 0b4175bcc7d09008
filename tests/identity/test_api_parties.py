"""The golden-record journey of a business application through the REST API."""

import pytest

from tests.api_helpers import assert_problem

ADDRESS = {"lines": ["12 rue Jean Jaurès"], "postal_code": "98800", "commune_insee": "98818"}


def test_create_then_read_back_with_provenance(client, headers, create_person):
    created = create_person()
    party = created.get_json()["party"]
    assert created.headers["Location"].endswith(party["id"])
    assert created.get_json()["attributes"]["family_name"] == {"status": "updated"}

    response = client.get(f"/api/v1/parties/{party['id']}", headers=headers)

    assert response.status_code == 200
    assert response.headers["ETag"] == created.headers["ETag"]
    body = response.get_json()
    assert body["attributes"]["given_names"] == "Élise Marie"
    assert body["provenance"]["birth_date"]["level"] == 500
    assert body["provenance"]["birth_date"]["process"] == "original_document_checked"
    assert body["provenance"]["birth_date"]["author"] == {"type": "application", "id": "portail"}
    assert body["provenance"]["birth_date"]["is_presumed"] is False


def test_update_address_with_if_match_moves_the_etag(client, headers, create_person):
    created = create_person()
    party_id = created.get_json()["party"]["id"]

    response = client.patch(
        f"/api/v1/parties/{party_id}",
        json={"attributes": {"postal_address": ADDRESS}, "channel": "desk", "process": "official_proof_scan_checked"},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )

    assert response.status_code == 200
    assert response.get_json()["attributes"] == {"postal_address": {"status": "updated"}}
    assert response.headers["ETag"] != created.headers["ETag"]
    address = response.get_json()["party"]["attributes"]["postal_address"]
    assert address["commune_name"] == "Nouméa" and address["country"] == "NC"


def test_update_without_if_match_is_428_and_stale_is_412(client, headers, create_person):
    created = create_person()
    party_id = created.get_json()["party"]["id"]
    change = {"attributes": {"email": "elise@example.nc"}, "channel": "online", "process": "declared"}

    assert_problem(client.patch(f"/api/v1/parties/{party_id}", json=change, headers=headers), 428)
    client.patch(f"/api/v1/parties/{party_id}", json=change, headers={**headers, "If-Match": created.headers["ETag"]})
    stale = client.patch(
        f"/api/v1/parties/{party_id}",
        json={**change, "attributes": {"email": "other@example.nc"}},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )
    assert_problem(stale, 412)
    assert client.get(f"/api/v1/parties/{party_id}", headers=headers).get_json()["attributes"]["email"] == "elise@example.nc"


def test_lower_level_write_is_kept_in_history_not_golden(client, headers, create_person):
    created = create_person()
    party_id = created.get_json()["party"]["id"]

    response = client.patch(
        f"/api/v1/parties/{party_id}",
        json={"attributes": {"family_name": "Wamitan"}, "channel": "phone", "process": "declared"},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )

    assert response.get_json()["attributes"]["family_name"]["status"] == "kept_lower_level"
    assert response.get_json()["party"]["attributes"]["family_name"] == "Wamytan"
    history = client.get(f"/api/v1/parties/{party_id}/history", headers=headers).get_json()["items"]
    family_names = [entry for entry in history if entry["key"] == "family_name"]
    assert [entry["action"] for entry in family_names] == ["recorded", "kept_lower_level"]
    assert family_names[1]["new"] == "Wamitan" and family_names[1]["level"] == 100
    assert family_names[1]["channel"] == "phone"


def test_same_value_is_unchanged_and_higher_level_certifies_it(client, headers, create_person):
    created = create_person(process="declared", channel="online")
    party_id = created.get_json()["party"]["id"]
    same = {"attributes": {"family_name": "Wamytan"}, "channel": "desk"}

    unchanged = client.patch(
        f"/api/v1/parties/{party_id}", json={**same, "process": "declared"},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )
    certified = client.patch(
        f"/api/v1/parties/{party_id}", json={**same, "process": "original_document_checked"},
        headers={**headers, "If-Match": unchanged.headers["ETag"]},
    )

    assert unchanged.get_json()["attributes"]["family_name"]["status"] == "unchanged"
    assert certified.get_json()["attributes"]["family_name"]["status"] == "updated"
    assert certified.get_json()["party"]["provenance"]["family_name"]["level"] == 500


def test_clearing_an_attribute_with_null(client, headers, create_person):
    created = create_person(attributes={"family_name": "Gowé", "mobile_phone": "+687 78 12 34"}, process="declared")
    party_id = created.get_json()["party"]["id"]
    assert created.get_json()["party"]["attributes"]["mobile_phone"] == "+687781234"

    response = client.patch(
        f"/api/v1/parties/{party_id}", json={"attributes": {"mobile_phone": None}, "channel": "phone", "process": "declared"},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )

    assert "mobile_phone" not in response.get_json()["party"]["attributes"]


@pytest.mark.parametrize(
    "attributes, field",
    [
        ({"email": "not-an-email"}, "attributes.email"),
        ({"birth_date": "2999-01-01"}, "attributes.birth_date"),
        ({"birth_place": "98800"}, "attributes.birth_place"),
        ({"mobile_phone": "12"}, "attributes.mobile_phone"),
        ({"shoe_size": 42}, "attributes.shoe_size"),
        ({"legal_name": "ACME"}, "attributes.legal_name"),
        ({"family_name": "Nul\x00"}, "attributes.family_name"),
        ({"family_name": ["a", "list"]}, "attributes.family_name"),
    ],
)
def test_invalid_values_are_422_and_nothing_is_stored(client, headers, attributes, field):
    body = {"kind": "person", "attributes": {"given_names": "Jean", **attributes}, "channel": "desk", "process": "declared"}

    problem = assert_problem(client.post("/api/v1/parties", json=body, headers=headers), 422)

    assert field in problem["errors"]
    assert problem["attributes"][field.split(".")[1]]["status"] == "invalid"
    listed = client.get("/api/v1/parties?where=given_names:Jean", headers=headers).get_json()
    assert listed["items"] == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "robot", "attributes": {}, "channel": "desk", "process": "declared"}, "kind"),
        ({"kind": "person", "attributes": {}, "channel": "fax", "process": "declared"}, "channel"),
        ({"kind": "person", "attributes": {}, "channel": "desk", "process": "declared", "level": 600}, "level"),
        ({"kind": "person", "attributes": {}, "channel": "desk", "process": "magic"}, "process"),
        ({"kind": "person", "channel": "desk", "process": "declared"}, "attributes"),
    ],
)
def test_invalid_requests_name_the_field(client, headers, body, field):
    problem = assert_problem(client.post("/api/v1/parties", json=body, headers=headers), 422)
    assert field in problem["errors"]


def test_protocol_errors_are_problems(client, headers, create_person):
    party_id = create_person().get_json()["party"]["id"]
    assert_problem(client.get("/api/v1/parties/6f1c3a52-8f0e-4c55-9b43-1d7e1b0f2a11", headers=headers), 404)
    assert_problem(client.get("/api/v1/nowhere", headers=headers), 404)
    assert_problem(client.delete(f"/api/v1/parties/{party_id}", headers=headers), 405)
    assert_problem(
        client.post("/api/v1/parties", data="kind=person", headers={**headers, "Content-Type": "text/plain"}), 415
    )
    assert_problem(
        client.post("/api/v1/parties", data="{not json", headers={**headers, "Content-Type": "application/json"}), 400
    )


def test_list_filters_and_paginates_with_link_header(client, headers, create_person):
    for given in ("Paul", "Marie", "Jean"):
        create_person(attributes={"family_name": "Kaloi", "given_names": given})
    create_person(attributes={"family_name": "Martin", "given_names": "Luc"})

    first = client.get("/api/v1/parties?kind=person&where=family_name:KALOI&limit=2", headers=headers)

    assert [item["attributes"]["given_names"] for item in first.get_json()["items"]] == ["Paul", "Marie"]
    next_url = first.headers["Link"].split(";")[0].strip("<>")
    assert 'rel="next"' in first.headers["Link"]
    second = client.get(next_url, headers=headers)
    assert [item["attributes"]["given_names"] for item in second.get_json()["items"]] == ["Jean"]
    assert "Link" not in second.headers


def test_list_filter_on_unknown_attribute_is_422(client, headers):
    assert "where" in assert_problem(client.get("/api/v1/parties?where=shoe:1", headers=headers), 422)["errors"]
    assert "cursor" in assert_problem(client.get("/api/v1/parties?cursor=%%%", headers=headers), 422)["errors"]
