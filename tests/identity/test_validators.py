"""Validation matrices for every value type (valid input -> normalised value; invalid input -> InvalidValue)."""

import datetime

import pytest

from gru.errors import InvalidValue
from gru.identity import validators
from gru.identity.validators import (
    VALIDATORS,
    is_presumed_birth_date,
    lookup_key,
    nc_commune,
    nc_communes_for_postal_code,
)

VALID = [
    # text
    ("text", "  Dupont   de  la Tour ", "Dupont de la Tour"),
    ("text", "E\u0301lise", "Élise"),  # NFC: e + combining acute -> é
    ("text", "Nguyễn\u00a0Văn", "Nguyễn Văn"),  # NBSP is whitespace, collapsed
    ("text", "x" * 200, "x" * 200),
    # given_names
    ("given_names", "Élise Marie", "Élise Marie"),
    ("given_names", "Élise,Marie", "Élise Marie"),
    ("given_names", " Jean-Pierre ,  Louis ", "Jean-Pierre Louis"),
    # sex
    ("sex", "M", "M"),
    ("sex", "f", "F"),
    # birth_date
    ("birth_date", "1950-07-14", "1950-07-14"),
    ("birth_date", "1950-00-00", "1950-00-00"),
    ("birth_date", "1950-07-00", "1950-07-00"),
    ("birth_date", "2000-02-29", "2000-02-29"),
    ("birth_date", "1850-01-01", "1850-01-01"),
    # insee_commune
    ("insee_commune", "98818", "98818"),  # Nouméa
    ("insee_commune", "98801", "98801"),  # Bélep
    ("insee_commune", "98833", "98833"),  # Kouaoua
    ("insee_commune", "75056", "75056"),  # Paris
    ("insee_commune", "2a004", "2A004"),  # Ajaccio
    ("insee_commune", "2B033", "2B033"),  # Bastia
    ("insee_commune", "97411", "97411"),  # Saint-Denis (La Réunion)
    ("insee_commune", "97611", "97611"),  # Mamoudzou
    ("insee_commune", "98611", "98611"),  # Wallis-et-Futuna
    ("insee_commune", "98735", "98735"),  # Papeete
    # insee_country
    ("insee_country", "99100", "99100"),
    ("insee_country", "99350", "99350"),
    # email
    ("email", "Jean.Dupont@Example.NC", "Jean.Dupont@example.nc"),
    ("email", " agent@mairie.nc ", "agent@mairie.nc"),
    # phones
    ("phone", "+687 75.12.34", "+687751234"),
    ("phone", "26 12 34", "+687261234"),
    ("phone", "+33 1 42 76 40 40", "+33142764040"),
    ("mobile_phone", "75.12.34", "+687751234"),
    ("mobile_phone", "+687 75.12.34", "+687751234"),
    ("mobile_phone", "+33 6 12 34 56 78", "+33612345678"),
    ("landline_phone", "26.12.34", "+687261234"),
    ("landline_phone", "+33 1 42 76 40 40", "+33142764040"),
    # siren / siret
    ("siren", "732 829 320", "732829320"),
    ("siret", "732 829 320 00074", "73282932000074"),
    # ridet
    ("ridet", "1234567", "1234567"),
    ("ridet", "0012345", "0012345"),
    ("ridet", "1 234 567.001", "1234567.001"),
    # rna
    ("rna", "W751234567", "W751234567"),
    ("rna", "w751234567", "W751234567"),
    ("rna", "W2A1002345", "W2A1002345"),
    # social_security_number: a NIR (key checked), or another scheme's digits
    ("social_security_number", "1 85 05 78 006 084 91", "185057800608491"),
    ("social_security_number", "1.85.05.2a.006.084-35", "185052A00608435"),  # born in Corsica
    ("social_security_number", "0123456", "0123456"),
    # legal_form
    ("legal_form", "SARL", "SARL"),
    ("legal_form", "association  loi 1901", "association loi 1901"),
]


@pytest.mark.parametrize(("type_name", "raw", "expected"), VALID)
def test_valid_values_are_normalised(type_name, raw, expected):
    assert VALIDATORS[type_name](raw) == expected


INVALID = [
    # wrong JSON types, for every type
    *[(type_name, 12345) for type_name in VALIDATORS],
    *[(type_name, None) for type_name in VALIDATORS],
    *[(type_name, ["x"]) for type_name in VALIDATORS if type_name != "postal_address"],
    ("text", True),
    # empty, control characters, absurd lengths
    ("text", ""),
    ("text", "   "),
    ("text", "Dup\x00ont"),
    ("text", "Dupont\nMartin"),
    ("text", "abc\u202edcba"),  # bidi override
    ("text", "x" * 201),
    ("given_names", " , , "),
    ("legal_form", "x" * 101),
    ("sex", "X"),
    ("sex", "male"),
    ("sex", ""),
    # birth_date
    ("birth_date", "14/07/1950"),
    ("birth_date", "1950-7-14"),
    ("birth_date", "1950-02-30"),
    ("birth_date", "1951-02-29"),
    ("birth_date", "1950-13-00"),
    ("birth_date", "1950-00-14"),  # unknown month but known day
    ("birth_date", "1950-01-32"),
    ("birth_date", "1849-12-31"),
    ("birth_date", "1849-00-00"),
    ("birth_date", "9999-00-00"),
    ("birth_date", "1950-07-14\x00"),
    # insee_commune
    ("insee_commune", "98800"),  # Nouméa's postal code
    ("insee_commune", "98834"),  # Yaté's postal code
    ("insee_commune", "98899"),
    ("insee_commune", "20004"),  # Corsica must be 2A/2B
    ("insee_commune", "2C004"),
    ("insee_commune", "00123"),
    ("insee_commune", "96001"),
    ("insee_commune", "97912"),
    ("insee_commune", "98412"),
    ("insee_commune", "75000"),
    ("insee_commune", "99100"),  # a country code
    ("insee_commune", "7505"),
    ("insee_commune", "750566"),
    # insee_country
    ("insee_country", "99"),
    ("insee_country", "98100"),
    ("insee_country", "991000"),
    ("insee_country", "FR"),
    # email
    ("email", "no-at-sign"),
    ("email", "a@b@c.nc"),
    ("email", "agent@"),
    ("email", "a" * 250 + "@x.nc"),
    # phones
    ("phone", "123"),
    ("phone", "+687 12 34"),
    ("phone", "1-800-FLOWERS"),
    ("phone", ""),
    ("mobile_phone", "06 12 34 56 78"),  # French mobile without +33, read as NC
    ("mobile_phone", "26.12.34"),  # NC landline
    ("mobile_phone", "+33 1 42 76 40 40"),  # French landline
    ("landline_phone", "75.12.34"),  # NC mobile
    ("landline_phone", "+33 6 12 34 56 78"),  # French mobile
    # siren / siret
    ("siren", "732829321"),  # wrong checksum
    ("siren", "73282932"),
    ("siren", "ABCDEFGHI"),
    ("siret", "73282932000075"),  # wrong checksum
    ("siret", "7328293200007"),
    # ridet
    ("ridet", "123456"),
    ("ridet", "12345678"),
    ("ridet", "1234567.01"),
    ("ridet", "1234567.0011"),
    ("ridet", "1234567-001"),
    ("ridet", "123456A"),
    # rna
    ("rna", "751234567"),
    ("rna", "W75123456"),
    ("rna", "W7512345678"),
    ("rna", "X751234567"),
    # social_security_number
    ("social_security_number", "185057800608492"),  # wrong key
    ("social_security_number", "1234"),
    ("social_security_number", "12345678901234"),
    ("social_security_number", "ABC1234"),
]


@pytest.mark.parametrize(("type_name", "raw"), INVALID)
def test_invalid_values_are_refused(type_name, raw):
    with pytest.raises(InvalidValue):
        VALIDATORS[type_name](raw)


def test_nc_postal_code_given_as_insee_code_says_so():
    with pytest.raises(InvalidValue) as caught:
        validators.insee_commune("98800")
    assert "postal code" in caught.value.detail
    assert "98818" in caught.value.detail  # Nouméa's real INSEE code


def test_reason_does_not_echo_a_control_character():
    with pytest.raises(InvalidValue) as caught:
        validators.text("secret\x00value")
    assert "secret" not in caught.value.detail


@pytest.mark.parametrize(
    ("value", "presumed"),
    [("1950-07-14", False), ("1950-07-00", True), ("1950-00-00", True)],
)
def test_is_presumed_birth_date(value, presumed):
    assert is_presumed_birth_date(value) is presumed


def test_birth_date_in_the_future_is_refused(monkeypatch):
    monkeypatch.setattr(validators, "_latest_today", lambda: datetime.date(2024, 6, 15))
    assert validators.birth_date("2024-06-15") == "2024-06-15"
    assert validators.birth_date("2024-06-00") == "2024-06-00"
    assert validators.birth_date("2024-00-00") == "2024-00-00"
    for future in ("2024-06-16", "2024-07-00", "2025-00-00"):
        with pytest.raises(InvalidValue):
            validators.birth_date(future)


def test_nc_communes_data():
    noumea = nc_commune("98818")
    assert noumea["name"] == "Nouméa"
    assert noumea["province"] == "Sud"
    assert noumea["postal_codes"] == ["98800"]
    assert nc_commune("98800") is None
    assert [c["insee"] for c in nc_communes_for_postal_code("98835")] == ["98805"]  # Dumbéa
    assert [c["insee"] for c in nc_communes_for_postal_code("98890")] == ["98821"]  # Païta
    assert nc_communes_for_postal_code("98818")[0]["name"] == "Kouaoua"
    assert nc_communes_for_postal_code("98899") == []
    codes = [f"988{n:02d}" for n in range(1, 34)]
    assert all(nc_commune(code) for code in codes)


# --- postal_address --------------------------------------------------------------------

VALID_ADDRESSES = [
    (
        {"lines": ["12 rue  Jean Jaurès"], "postal_code": "98800"},
        {
            "lines": ["12 rue Jean Jaurès"],
            "postal_code": "98800",
            "commune_insee": "98818",
            "commune_name": "Nouméa",
            "country": "NC",
        },
    ),
    (  # name corrected to the official spelling
        {"lines": ["Lot 4"], "postal_code": "98810", "commune_name": "mont dore", "country": "nc"},
        {
            "lines": ["Lot 4"],
            "postal_code": "98810",
            "commune_insee": "98817",
            "commune_name": "Le Mont-Dore",
            "country": "NC",
        },
    ),
    (
        {"lines": ["Tribu de Wé"], "postal_code": "98839", "commune_insee": "98805"},
        {
            "lines": ["Tribu de Wé"],
            "postal_code": "98839",
            "commune_insee": "98805",
            "commune_name": "Dumbéa",
            "country": "NC",
        },
    ),
    (
        {"country": "FR", "lines": ["Hôtel de Ville"], "postal_code": "75004", "commune_name": "Paris"},
        {"lines": ["Hôtel de Ville"], "postal_code": "75004", "commune_name": "Paris", "country": "FR"},
    ),
    (
        {"lines": ["1 place"], "postal_code": "20000", "commune_insee": "2a004",
         "commune_name": "Ajaccio", "country": "FR"},
        {"lines": ["1 place"], "postal_code": "20000", "commune_insee": "2A004",
         "commune_name": "Ajaccio", "country": "FR"},
    ),
    (
        {"lines": ["10 Queen St"], "commune_name": "Auckland", "country": "NZ"},
        {"lines": ["10 Queen St"], "commune_name": "Auckland", "country": "NZ"},
    ),
]


@pytest.mark.parametrize(("raw", "expected"), VALID_ADDRESSES)
def test_valid_postal_addresses(raw, expected):
    normalised = validators.postal_address(raw)
    assert normalised == expected
    assert list(normalised) == list(expected)  # fixed key order


INVALID_ADDRESSES = [
    "12 rue Jean Jaurès, 98800 Nouméa",
    {"lines": [], "postal_code": "98800"},
    {"lines": "12 rue", "postal_code": "98800"},
    {"lines": ["a", "b", "c", "d", "e", "f"], "postal_code": "98800"},
    {"lines": ["x" * 101], "postal_code": "98800"},
    {"lines": ["12 rue\x00"], "postal_code": "98800"},
    {"lines": ["12 rue"], "postal_code": "98800", "zip": "98800"},  # unknown key
    {"lines": ["12 rue"]},  # NC needs a postal code
    {"lines": ["12 rue"], "postal_code": "98899"},  # unknown NC postal code
    {"lines": ["12 rue"], "postal_code": "75004"},  # not a NC postal code
    {"lines": ["12 rue"], "postal_code": "98800", "commune_insee": "98805"},  # 98800 is not Dumbéa's
    {"lines": ["12 rue"], "postal_code": "98800", "commune_insee": "75056"},
    {"lines": ["12 rue"], "postal_code": "98800", "commune_name": "Dumbéa"},
    {"lines": ["12 rue"], "postal_code": "98800", "country": "NCL"},
    {"lines": ["12 rue"], "country": "FR", "commune_name": "Paris"},
    {"lines": ["12 rue"], "country": "FR", "postal_code": "7500", "commune_name": "Paris"},
    {"lines": ["12 rue"], "country": "FR", "postal_code": "75004"},  # commune_name required
    {"lines": ["12 rue"], "country": "FR", "postal_code": "20000", "commune_insee": "20004",
     "commune_name": "Ajaccio"},
    {"lines": ["10 Queen St"], "country": "NZ"},
]


@pytest.mark.parametrize("raw", INVALID_ADDRESSES)
def test_invalid_postal_addresses(raw):
    with pytest.raises(InvalidValue):
        validators.postal_address(raw)


def test_kouaoua_postal_code_is_not_noumea():
    # 98818 is Nouméa's INSEE code but Kouaoua's postal code: the address is Kouaoua's.
    address = validators.postal_address({"lines": ["Village"], "postal_code": "98818"})
    assert address["commune_name"] == "Kouaoua"
    assert address["commune_insee"] == "98833"


# --- lookup_key ----------------------------------------------------------------------------


def test_lookup_keys():
    assert lookup_key("text", "Élise DUPONT") == "élise dupont"
    assert lookup_key("text", "Élise") != lookup_key("text", "Elise")  # accents kept
    assert lookup_key("email", "Jean@example.nc") == "jean@example.nc"
    assert lookup_key("birth_date", "1950-00-00") == "1950-00-00"
    assert lookup_key("mobile_phone", "+687751234") == "+687751234"
    address = validators.postal_address({"lines": ["Lot 4"], "postal_code": "98800"})
    assert lookup_key("postal_address", address) == lookup_key(
        "postal_address", dict(reversed(list(address.items())))
    )
    with pytest.raises(KeyError):
        lookup_key("colour", "blue")


def test_every_validator_result_has_a_lookup_key():
    for type_name, raw, expected in VALID:
        assert isinstance(lookup_key(type_name, VALIDATORS[type_name](raw)), str)


def test_forbidden_characters_are_exactly_controls_surrogates_noncharacters_and_bidi():
    """The two character classes of :mod:`gru.identity.strings` against the Unicode
    definitions they stand for, over every code point."""
    import unicodedata

    from gru.identity.strings import _BIDI_CONTROLS, reject_forbidden_characters

    def is_forbidden(char):
        code = ord(char)
        return (
            unicodedata.category(char) in ("Cc", "Cs")
            or char in _BIDI_CONTROLS
            or 0xFDD0 <= code <= 0xFDEF
            or (code & 0xFFFE) == 0xFFFE
        )

    def is_refused(char):
        try:
            reject_forbidden_characters(f"a{char}b")
        except InvalidValue:
            return True
        return False

    disagreements = [hex(code) for code in range(0x110000) if is_forbidden(chr(code)) != is_refused(chr(code))]
    assert disagreements == []
