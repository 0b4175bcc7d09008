"""Consents on a merge and its undoing (issue 6): they move to the survivor and back, and a
consent recorded since the merge by an application that knew only the merged party goes
back to that party."""

import pytest

from tests.factories.identity import make_party

ELISE = {"family_name": "Wamytan", "given_names": "Élise Marie", "birth_date": "1987-03-14", "sex": "F"}


@pytest.fixture
def pair(db_session):
    survivor = make_party(attributes=ELISE)
    merged = make_party(attributes={**ELISE, "family_name": "Wamitan"})
    db_session.flush()
    return survivor, merged


def _merge(client, headers, survivor, merged):
    response = client.post("/api/v1/merges", headers=headers,
                           json={"survivor_id": str(survivor.id), "merged_id": str(merged.id)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _unmerge(client, headers, merge):
    response = client.post(f"/api/v1/merges/{merge['id']}/unmerge", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["unmerge_report"]


def _states(client, headers, party, history=False):
    items = client.get(f"/api/v1/parties/{party.id}/consents", headers=headers,
                       query_string={"history": "true"} if history else {}).get_json()["items"]
    return [(item["purpose"], item["state"], item["text_version"]) for item in items]


def test_consents_move_to_the_survivor_and_back(client, headers, give, pair, canteen):
    survivor, merged = pair
    from tests.consent.conftest import make_purpose

    make_purpose(code="sms_reminders", label="Rappels de rendez-vous par SMS")
    assert give(survivor, text_version="newsletter-v1").status_code == 201
    assert give(merged, text_version="newsletter-v2").status_code == 201
    assert give(merged, purpose="sms_reminders", text_version="sms-v1").status_code == 201
    assert give(merged, purpose="sms_reminders", state="withdrawn", text_version="sms-v1").status_code == 201

    merge = _merge(client, headers, survivor, merged)
    assert merge["moved"]["consents"] == 3
    # one person now: per purpose, the latest statement of either record is the current state
    assert _states(client, headers, survivor) == [("newsletter", "given", "newsletter-v2"),
                                                  ("sms_reminders", "withdrawn", "sms-v1")]
    assert len(_states(client, headers, survivor, history=True)) == 4
    assert _states(client, headers, merged) == []

    report = _unmerge(client, headers, merge)
    assert report["restored"]["consents"] == 3
    assert report["placed_on_merged"]["consents"] == [] and report["kept_on_survivor"]["consents"] == []
    assert _states(client, headers, survivor) == [("newsletter", "given", "newsletter-v1")]
    assert _states(client, headers, merged) == [("newsletter", "given", "newsletter-v2"),
                                                ("sms_reminders", "withdrawn", "sms-v1")]


def test_a_consent_recorded_since_the_merge_goes_where_its_author_can_tell(client, headers, give, make_token, pair):
    survivor, merged = pair
    caf = make_token("caf")
    assert client.post(f"/api/v1/parties/{merged.id}/cross-references", headers=caf,
                       json={"local_id": "CAF-1", "channel": "application"}).status_code == 201
    merge = _merge(client, headers, survivor, merged)
    # the CAF, which knew only the merged party, speaks of its own record: back to it
    by_caf = give(survivor, headers=caf, text_version="caf-v1")
    assert by_caf.status_code == 201, by_caf.get_json()
    # the portal knows neither party by a cross-reference: it cannot be told, it stays
    by_portal = give(survivor, purpose="newsletter", state="withdrawn", text_version="portal-v1")
    assert by_portal.status_code == 201

    report = _unmerge(client, headers, merge)
    assert report["placed_on_merged"]["consents"] == [by_caf.get_json()["id"]]
    assert report["kept_on_survivor"]["consents"] == [by_portal.get_json()["id"]]
    assert report["note"]
    assert _states(client, headers, merged) == [("newsletter", "given", "caf-v1")]
    assert _states(client, headers, survivor) == [("newsletter", "withdrawn", "portal-v1")]

