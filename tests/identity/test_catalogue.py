"""The attribute catalogue: built-in definitions, processes, deployment extensions."""

import json

import pytest

from gru.errors import ConfigurationError, InvalidValue
from gru.identity.catalogue import (
    CHANNELS,
    LEVELS,
    PARTY_KINDS,
    AttributeDefinition,
    load_catalogue,
)
from gru.identity.validators import VALIDATORS

PIVOT = {"family_name", "given_names", "sex", "birth_date", "birth_place", "birth_country"}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_builtin_catalogue_is_consistent(catalogue):
    assert catalogue.version == "1"
    for definition in catalogue:
        assert isinstance(definition, AttributeDefinition)
        assert definition.type in VALIDATORS
        assert definition.kinds and definition.kinds <= set(PARTY_KINDS)
        assert definition.label


def test_pivot_flags(catalogue):
    assert {d.key for d in catalogue if d.is_pivot} == PIVOT


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("person", {"family_name", "usage_name", "given_names", "sex", "birth_date",
                    "birth_place", "birth_country", "email", "mobile_phone",
                    "landline_phone", "postal_address", "social_security_number"}),
        ("household", {"name", "postal_address"}),
        ("association", {"name", "rna", "postal_address", "email"}),
        ("company", {"legal_name", "siren", "siret", "ridet", "legal_form",
                     "postal_address", "email", "phone"}),
    ],
)
def test_attributes_per_kind(catalogue, kind, expected):
    assert {d.key for d in catalogue.for_kind(kind)} == expected


def test_shared_keys_are_one_entry(catalogue):
    keys = [d.key for d in catalogue]
    assert len(keys) == len(set(keys))
    assert catalogue.get("postal_address").kinds == frozenset(PARTY_KINDS)
    assert catalogue.get("name").kinds == {"household", "association"}


def test_definitions_follow_file_order(catalogue):
    keys = [d.key for d in catalogue]
    assert keys[0] == "family_name"
    assert keys.index("family_name") < keys.index("given_names") < keys.index("postal_address")


def test_get_and_contains(catalogue):
    assert "birth_date" in catalogue
    assert "favourite_colour" not in catalogue
    with pytest.raises(KeyError):
        catalogue.get("favourite_colour")
    assert catalogue.get("family_name").label == "Nom de naissance"


def test_certifiable_flags(catalogue):
    assert catalogue.get("usage_name").is_certifiable
    assert catalogue.get("email").is_certifiable
    assert not catalogue.get("legal_form").is_certifiable


def test_definition_validates_and_keys(catalogue):
    definition = catalogue.get("mobile_phone")
    assert definition.validate("+687 75.12.34") == "+687751234"
    assert definition.lookup_key("+687751234") == "+687751234"
    with pytest.raises(InvalidValue):
        catalogue.get("birth_place").validate("98800")


def test_unknown_kind_is_refused(catalogue):
    with pytest.raises(InvalidValue):
        catalogue.for_kind("robot")


def test_processes(catalogue):
    assert [p.level for p in catalogue.processes] == list(LEVELS)
    assert catalogue.level_for("declared") == 100
    assert catalogue.level_for("contact_verified") == 200
    assert catalogue.level_for("authoritative_source") == 600
    assert catalogue.process("original_document_checked").label
    with pytest.raises(InvalidValue, match="unknown certification process"):
        catalogue.process("trust_me")


def test_constants():
    assert PARTY_KINDS == ("person", "household", "association", "company")
    assert "desk" in CHANNELS and "import" in CHANNELS
    assert LEVELS == (100, 200, 300, 400, 500, 600)


# --- extension files -----------------------------------------------------------------------

EXTRA = {
    "key": "customary_status",
    "type": "text",
    "kinds": ["person"],
    "pivot": False,
    "sensitivity": "sensitive",
    "certifiable": True,
    "label_fr": "Statut civil coutumier",
}


def write_extra(tmp_path, *entries, name="extra.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"version": 1, "attributes": list(entries)}), encoding="utf-8")
    return path


def test_extension_adds_an_attribute(tmp_path):
    catalogue = load_catalogue([write_extra(tmp_path, EXTRA)])
    assert catalogue.version == "1+extra"
    definition = catalogue.get("customary_status")
    assert definition.sensitivity == "sensitive"
    assert definition in catalogue.for_kind("person")
    assert [d.key for d in catalogue][-1] == "customary_status"
    assert definition.validate("  droit  commun ") == "droit commun"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": "family_name"}, "already defined"),
        ({"type": "colour"}, "unknown type"),
        ({"kinds": ["robot"]}, "kinds"),
        ({"kinds": []}, "kinds"),
        ({"pivot": True}, "pivot"),
        ({"pivot": "no"}, "pivot"),
        ({"sensitivity": "secret"}, "sensitivity"),
        ({"label_fr": ""}, "label_fr"),
        ({"key": "Bad Key"}, "key"),
        ({"extra_field": 1}, "unknown extra_field"),
    ],
)
def test_bad_extension_entries_fail(tmp_path, change, message):
    path = write_extra(tmp_path, {**EXTRA, **change})
    with pytest.raises(ConfigurationError) as caught:
        load_catalogue([path])
    assert str(path) in caught.value.detail
    assert message in caught.value.detail
    assert "\n" not in caught.value.detail


def test_missing_field_fails(tmp_path):
    entry = dict(EXTRA)
    del entry["certifiable"]
    with pytest.raises(ConfigurationError, match="missing certifiable"):
        load_catalogue([write_extra(tmp_path, entry)])


def test_same_key_in_two_extension_files_fails(tmp_path):
    first = write_extra(tmp_path, EXTRA, name="a.json")
    second = write_extra(tmp_path, EXTRA, name="b.json")
    with pytest.raises(ConfigurationError, match="already defined"):
        load_catalogue([first, second])


@pytest.mark.parametrize("content", ["not json", "[]", '{"version": 1}', '{"attributes": []}'])
def test_malformed_extension_file_fails(tmp_path, content):
    path = tmp_path / "extra.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError):
        load_catalogue([path])


def test_missing_extension_file_fails(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_catalogue([tmp_path / "absent.json"])
