"""Verifying documents: the values they prove are certified, with the document as proof."""

import pytest
from sqlalchemy import select

from gru.audit.models import JournalEntry
from gru.events.services import events_of
from gru.extensions import db
from tests.api_helpers import assert_problem

ADDRESS = {"lines": ["12 rue Jean Jaurès"], "postal_code": "98800", "commune_insee": "98818"}


def record(client, headers, party_id):
    return client.get(f"/api/v1/parties/{party_id}", headers=headers).get_json()


def verify(client, headers, document_id, **body):
    return client.post(f"/api/v1/documents/{document_id}/verification", json=body, headers=headers)


def test_identity_card_checked_in_original_raises_the_pivot_to_500(client, headers, upload, person):
    document_id = upload(type="identity_card").get_json()["id"]
    assert record(client, headers, person.id)["provenance"]["family_name"]["level"] == 100

    response = verify(client, headers, document_id, status="verified", method="original_seen")

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["document"]["status"] == "verified"
    assert body["document"]["verification"]["method"] == "original_seen"
    assert body["document"]["verification"]["by"] == {"type": "application", "id": "portail"}
    assert set(body["attributes"]) == {"family_name", "given_names", "sex", "birth_date", "birth_place"}
    assert all(outcome == {"status": "updated"} for outcome in body["attributes"].values())
    provenance = record(client, headers, person.id)["provenance"]
    for key in ("family_name", "given_names", "sex", "birth_date", "birth_place"):
        assert provenance[key]["level"] == 500
        assert provenance[key]["process"] == "original_document_checked"
        assert provenance[key]["document_id"] == document_id
        assert "proof_expired" not in provenance[key]
    (event,) = events_of(person.id, "document.verified")
    assert event.data["certified"] == ["birth_date", "birth_place", "family_name", "given_names", "sex"]
    assert event.sequence == 3  # after party.created, then party.updated by the verification
    (entry,) = db.session.scalars(select(JournalEntry).where(JournalEntry.action == "documents:document:verify"))
    assert f"document:{document_id}" in entry.attribute_keys and "family_name" in entry.attribute_keys


def test_proof_of_address_scan_raises_the_address_to_400(client, headers, upload, person):
    created = client.patch(
        f"/api/v1/parties/{person.id}",
        json={"attributes": {"postal_address": ADDRESS}, "channel": "phone", "process": "declared"},
        headers={**headers, "If-Match": person.etag},
    )
    assert created.status_code == 200, created.get_json()
    document_id = upload(type="proof_of_address").get_json()["id"]

    body = verify(client, headers, document_id, status="verified", method="scan_checked").get_json()

    assert body["attributes"] == {"postal_address": {"status": "updated"}}
    provenance = record(client, headers, person.id)["provenance"]["postal_address"]
    assert (provenance["level"], provenance["document_id"]) == (400, document_id)
    assert provenance["process"] == "official_proof_scan_checked"


def test_a_higher_level_is_not_lowered(client, headers, upload, create_person):
    party_id = create_person().get_json()["party"]["id"]  # certified 500 at creation
    document_id = upload(type="identity_card", party=type("P", (), {"id": party_id})).get_json()["id"]

    body = verify(client, headers, document_id, status="verified", method="scan_checked").get_json()

    assert body["attributes"] == {}
    assert record(client, headers, party_id)["provenance"]["family_name"]["level"] == 500


def test_rejection_needs_a_reason_and_certifies_nothing(client, headers, upload, person):
    document_id = upload().get_json()["id"]
    assert_problem(verify(client, headers, document_id, status="rejected"), 422)

    body = verify(client, headers, document_id, status="rejected", reason="Photo illisible").get_json()

    assert body["document"]["status"] == "rejected"
    assert body["document"]["verification"]["reason"] == "Photo illisible"
    assert record(client, headers, person.id)["provenance"]["family_name"]["level"] == 100
    assert [event.type for event in events_of(person.id) if event.type.startswith("document.")] == ["document.rejected"]


@pytest.mark.parametrize("body", [
    {"status": "verified"},
    {"status": "verified", "method": "looked_at_it"},
    {"status": "maybe", "method": "scan_checked"},
])
def test_invalid_verifications_are_422(client, headers, upload, body):
    document_id = upload().get_json()["id"]
    assert_problem(verify(client, headers, document_id, **body), 422)


def test_verifying_twice_is_409(client, headers, upload):
    document_id = upload().get_json()["id"]
    verify(client, headers, document_id, status="verified", method="original_seen")
    assert_problem(verify(client, headers, document_id, status="verified", method="original_seen"), 409)


def test_an_expired_document_cannot_be_verified(client, headers, upload):
    document_id = upload(issued_on="2010-01-01", expires_on="2020-01-01").get_json()["id"]
    body = assert_problem(verify(client, headers, document_id, status="verified", method="original_seen"), 422)
    assert "expired" in body["errors"]["status"][0]


def test_verification_needs_the_scope_and_the_type_in_the_contract(client, upload, make_token):
    document_id = upload().get_json()["id"]
    no_verify = make_token("lecteur", scopes=["documents:read", "parties:read"])
    other_types = make_token("caf", document_types=["proof_of_address"])
    assert_problem(verify(client, no_verify, document_id, status="verified", method="scan_checked"), 403)
    assert_problem(verify(client, other_types, document_id, status="verified", method="scan_checked"), 403)


def test_contract_limits_what_the_verification_certifies(client, upload, make_token, catalogue, person):
    """The certified values are writes of the application: its contract's rights apply."""
    limited = make_token("mairie", attributes={"family_name": ["read", "write"]}, max_level=400)
    document_id = upload(headers=limited).get_json()["id"]

    body = verify(client, limited, document_id, status="verified", method="scan_checked").get_json()

    assert body["attributes"]["family_name"] == {"status": "updated"}
    assert body["attributes"]["birth_date"]["status"] == "forbidden"
