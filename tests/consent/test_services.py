"""The purposes register and the consent rules, through the services (no HTTP)."""

from datetime import date, timedelta

import pytest

from gru.consent.services import (
    ConsentActor,
    ConsentNotGiven,
    ConsentRequest,
    PurposeNotConsentBased,
    consent_history,
    current_consents,
    declare_purpose,
    list_purposes,
    record_consent,
    retire_purpose,
    update_purpose,
)
from gru.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gru.events.services import events_of
from gru.identity.services.history import party_history
from tests.consent.conftest import CANTEEN, NEWSLETTER, make_purpose

AGENT = ConsentActor(type="agent", id="marie")


def request(state="given", **fields):
    return ConsentRequest(**{"purpose": "newsletter", "state": state, "channel": "desk",
                             "text_version": "newsletter-v1", **fields})


@pytest.mark.parametrize("changes, field", [
    ({"code": "Newsletter"}, "code"),
    ({"code": "9lives"}, "code"),
    ({"code": "x" * 65}, "code"),
    ({"label": ""}, "label"),
    ({"label": "x" * 201}, "label"),
    ({"label": "Lettre\u0000d'information"}, "label"),  # PostgreSQL refuses NUL in text
    ({"description": "Deux fois\u0007 par mois"}, "description"),
    ({"retention_text": "deux\u0000ans"}, "retention_text"),
    ({"recipients": ["Service\u001bcommunication"]}, "recipients"),
    ({"lawful_basis": "because"}, "lawful_basis"),
    ({"data_categories": "identity"}, "data_categories"),
    ({"data_categories": [""]}, "data_categories"),
    ({"recipients": [3]}, "recipients"),
    ({"retention_days": 0}, "retention_days"),
    ({"retention_days": 40_000}, "retention_days"),
    ({"retention_days": "365"}, "retention_days"),
    ({"retention_days": True}, "retention_days"),
    ({"retention_days": None}, "retention"),
    ({"retention_text": "deux ans"}, "retention"),
    ({"colour": "blue"}, "colour"),
])
def test_a_bad_purpose_is_refused_naming_the_field(db_session, changes, field):
    with pytest.raises(ValidationFailed) as refusal:
        declare_purpose({**NEWSLETTER, **changes}, author="tests")
    assert field in refusal.value.errors
    assert list_purposes() == []


def test_a_purpose_is_declared_updated_and_retired(db_session):
    purpose = make_purpose(**CANTEEN)
    assert (purpose.lawful_basis, purpose.retention_days, purpose.retention_text) == (
        "public_task", None, CANTEEN["retention_text"])
    with pytest.raises(Conflict):
        make_purpose(**CANTEEN)

    updated = update_purpose("school_canteen", {"retention_days": 730, "recipients": ["cantine", "cantine"]}, "admin")
    assert (updated.retention_days, updated.retention_text, updated.recipients) == (730, None, ["cantine"])
    assert updated.label == CANTEEN["label"] and updated.updated_by == "admin"

    retire_purpose("school_canteen", "admin")
    assert list_purposes() == [] and [item.code for item in list_purposes(include_retired=True)] == ["school_canteen"]
    with pytest.raises(Conflict):
        retire_purpose("school_canteen", "admin")
    with pytest.raises(NotFound):
        retire_purpose("nothing", "admin")


def test_the_lawful_basis_is_fixed_once_consents_exist(db_session, newsletter, person):
    update_purpose("newsletter", {"lawful_basis": "legitimate_interests"}, "admin")
    update_purpose("newsletter", {"lawful_basis": "consent"}, "admin")
    record_consent(person.id, request(), AGENT)
    with pytest.raises(Conflict, match="lawful basis stays consent"):
        update_purpose("newsletter", {"lawful_basis": "public_task"}, "admin")


def test_no_consent_for_a_purpose_of_another_lawful_basis(db_session, canteen, person):
    with pytest.raises(PurposeNotConsentBased) as refusal:
        record_consent(person.id, request(purpose="school_canteen"), AGENT)
    assert refusal.value.status == 422 and "public_task" in refusal.value.errors["purpose"][0]


def test_the_current_state_is_the_latest_statement(db_session, newsletter, person):
    record_consent(person.id, request(text_version="newsletter-v1"), AGENT)
    record_consent(person.id, request(text_version="newsletter-v2"), AGENT)
    record_consent(person.id, request("withdrawn", text_version="newsletter-v2", channel="phone"), AGENT)
    record_consent(person.id, request(application=None, purpose="newsletter", text_version="newsletter-v3"), AGENT)

    _, current = current_consents(person.id, AGENT)
    assert [(item.state, item.text_version) for item in current] == [("given", "newsletter-v3")]
    _, history = consent_history(person.id, AGENT)
    assert [item.state for item in history] == ["given", "given", "withdrawn", "given"]
    assert [event.type for event in events_of(person.id) if event.type.startswith("consent.")] == [
        "consent.given", "consent.given", "consent.withdrawn", "consent.given"]
    changes = [entry for entry in party_history(person) if entry["subject"] == "consent"]
    assert [(entry["key"], entry["old"], entry["new"]) for entry in changes] == [
        ("newsletter", None, "given"), ("newsletter", "given", "given"), ("newsletter", "given", "withdrawn"),
        ("newsletter", "withdrawn", "given")]
    assert changes[2]["channel"] == "phone" and changes[2]["author"] == {"type": "agent", "id": "marie"}


def test_withdrawing_what_was_never_given_is_an_error(db_session, newsletter, person):
    with pytest.raises(ConsentNotGiven):
        record_consent(person.id, request("withdrawn"), AGENT)
    record_consent(person.id, request(), AGENT)
    record_consent(person.id, request("withdrawn"), AGENT)
    with pytest.raises(ConsentNotGiven):
        record_consent(person.id, request("withdrawn"), AGENT)


def test_a_retired_purpose_takes_withdrawals_not_new_consents(db_session, newsletter, person):
    record_consent(person.id, request(), AGENT)
    retire_purpose("newsletter", "admin")
    with pytest.raises(ValidationFailed) as refusal:
        record_consent(person.id, request(), AGENT)
    assert "retired" in refusal.value.errors["purpose"][0]
    _, consent = record_consent(person.id, request("withdrawn"), AGENT)  # GDPR art. 7(3)
    assert consent.state == "withdrawn"


def test_consents_per_application_are_kept_apart(db_session, newsletter, person):
    from tests.factories.auth import make_application

    make_application("mediatheque")
    record_consent(person.id, request(), AGENT)
    record_consent(person.id, request(application="mediatheque"), AGENT)
    record_consent(person.id, request("withdrawn"), AGENT)
    _, current = current_consents(person.id, AGENT)
    assert [(item.application_code, item.state) for item in current] == [(None, "withdrawn"), ("mediatheque", "given")]

    library = ConsentActor(type="application", id="mediatheque", application="mediatheque")
    other = ConsentActor(type="application", id="caf", application="caf")
    assert len(current_consents(person.id, library)[1]) == 2
    assert [item.application_code for item in current_consents(person.id, other)[1]] == [None]
    with pytest.raises(Forbidden):
        record_consent(person.id, request(application="mediatheque"), other)
    with pytest.raises(ValidationFailed) as refusal:
        record_consent(person.id, request(application="nowhere"), AGENT)
    assert "application" in refusal.value.errors


@pytest.mark.parametrize("fields, field", [
    ({"state": "maybe"}, "state"),
    ({"channel": "pigeon"}, "channel"),
    ({"text_version": ""}, "text_version"),
    ({"text_version": "v 1"}, "text_version"),
    ({"valid_until": date.today() - timedelta(days=1)}, "valid_until"),
    ({"purpose": "unknown"}, "purpose"),
])
def test_a_bad_consent_is_refused_naming_the_field(db_session, newsletter, person, fields, field):
    with pytest.raises(ValidationFailed) as refusal:
        record_consent(person.id, request(**fields), AGENT)
    assert field in refusal.value.errors
    assert consent_history(person.id, AGENT)[1] == []


def test_a_consent_past_its_end_date_is_not_in_force(db_session, newsletter, person):
    from gru.consent.services import is_in_force

    _, consent = record_consent(person.id, request(valid_until=date.today()), AGENT)
    assert is_in_force(consent) and not is_in_force(consent, today=date.today() + timedelta(days=1))


def test_rights_of_the_contract_are_enforced(db_session, newsletter, person):
    reader = ConsentActor(type="application", id="caf", may_write=False, application="caf")
    blind = ConsentActor(type="application", id="caf", may_read=False, application="caf")
    with pytest.raises(Forbidden):
        record_consent(person.id, request(), reader)
    with pytest.raises(Forbidden):
        current_consents(person.id, blind)
    households_only = ConsentActor(type="agent", id="marie", party_kinds=("household",))
    with pytest.raises(Forbidden):
        current_consents(person.id, households_only)


@pytest.mark.parametrize("field, value", [("purpose", "news\u0000letter"), ("application", "media\u0000theque")])
def test_codes_no_purpose_or_application_can_have_are_refused_naming_the_field(db_session, newsletter, person,
                                                                                field, value):
    """A NUL (which PostgreSQL refuses in a text parameter) or any character outside the
    codes' form is a refusal naming the field, not a failed look-up."""
    with pytest.raises(ValidationFailed) as refusal:
        record_consent(person.id, request(**{field: value}), AGENT)
    assert field in refusal.value.errors


def test_a_description_may_run_over_several_lines(db_session):
    purpose = declare_purpose({**NEWSLETTER, "description": "Deux lettres par mois.\nDésinscription en un clic."},
                              author="tests")
    assert purpose.description.splitlines() == ["Deux lettres par mois.", "Désinscription en un clic."]
