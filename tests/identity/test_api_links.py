"""Households, representatives and guardians through the API."""

import pytest

from tests.api_helpers import assert_problem


@pytest.fixture
def create(client, headers):
    def create(kind, attributes):
        body = {"kind": kind, "attributes": attributes, "channel": "desk", "process": "declared"}
        response = client.post("/api/v1/parties", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["party"]["id"]

    return create


@pytest.fixture
def household(create):
    return create("household", {"name": "Foyer Gowé"})


def _link(client, headers, **body):
    return client.post("/api/v1/links", json={"channel": "desk", **body}, headers=headers)


def test_members_of_a_household_with_one_head(client, headers, create, household):
    father = create("person", {"family_name": "Gowé", "given_names": "Paul"})
    mother = create("person", {"family_name": "Wéa", "given_names": "Rose"})

    head = _link(client, headers, kind="member_of", person_id=father, target_id=household, role="head")
    partner = _link(client, headers, kind="member_of", person_id=mother, target_id=household, role="partner")
    uncle = create("person", {"family_name": "Gowé", "given_names": "Jacques"})
    second_head = _link(client, headers, kind="member_of", person_id=uncle, target_id=household, role="head")
    twice = _link(client, headers, kind="member_of", person_id=mother, target_id=household, role="child")

    assert head.status_code == 201 and partner.status_code == 201
    assert "head" in assert_problem(second_head, 409)["detail"]
    assert "already linked" in assert_problem(twice, 409)["detail"]
    members = client.get(f"/api/v1/parties/{household}/links", headers=headers).get_json()["items"]
    assert sorted(item["role"] for item in members) == ["head", "partner"]


def test_ending_a_link_needs_if_match_and_frees_the_head_role(client, headers, create, household):
    father = create("person", {"family_name": "Gowé", "given_names": "Paul"})
    mother = create("person", {"family_name": "Wéa", "given_names": "Rose"})
    head = _link(client, headers, kind="member_of", person_id=father, target_id=household, role="head",
                 starts_on="2020-01-01")
    link_url = f"/api/v1/links/{head.get_json()['id']}"

    assert_problem(client.patch(link_url, json={"ends_on": "2024-06-30"}, headers=headers), 428)
    ended = client.patch(link_url, json={"ends_on": "2024-06-30"}, headers={**headers, "If-Match": head.headers["ETag"]})
    new_head = _link(client, headers, kind="member_of", person_id=mother, target_id=household, role="head",
                     starts_on="2024-07-01")

    assert ended.status_code == 200 and ended.get_json()["ends_on"] == "2024-06-30"
    assert new_head.status_code == 201
    history = client.get(f"/api/v1/parties/{household}/history", headers=headers).get_json()["items"]
    assert [entry["action"] for entry in history if entry["subject"] == "link"] == ["created", "ended", "created"]


@pytest.mark.parametrize(
    "kind, role, target_kind, problem_field",
    [
        ("member_of", "head", "company", "target_id"),
        ("member_of", "boss", "household", "role"),
        ("represents", "president", "household", "target_id"),
        ("guardian_of", "guardian", "association", "target_id"),
    ],
)
def test_link_rules(client, headers, create, kind, role, target_kind, problem_field):
    person = create("person", {"family_name": "Kaloi"})
    names = {"company": {"legal_name": "Kaloi SARL"}, "household": {"name": "Foyer"}, "association": {"name": "AS"}}
    target = create(target_kind, names[target_kind])

    problem = assert_problem(_link(client, headers, kind=kind, person_id=person, target_id=target, role=role), 422)

    assert problem_field in problem["errors"]


def test_only_persons_are_members(client, headers, create, household):
    company = create("company", {"legal_name": "Transports Kaloi"})
    problem = assert_problem(
        _link(client, headers, kind="member_of", person_id=company, target_id=household, role="other"), 422
    )
    assert "person_id" in problem["errors"]


def test_president_of_an_association(client, headers, create):
    association = create("association", {"name": "AS Rivière-Salée", "rna": "W988004217"})
    president = create("person", {"family_name": "Hnawia", "given_names": "Marc"})

    link = _link(client, headers, kind="represents", person_id=president, target_id=association, role="president")

    assert link.status_code == 201 and link.get_json()["role"] == "president"
    assert client.get(f"/api/v1/links/{link.get_json()['id']}", headers=headers).headers["ETag"] == link.headers["ETag"]
