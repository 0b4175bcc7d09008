"""Attribute value validators: one function per value type.

Each takes the raw JSON-decoded input and returns the normalised, JSON-serialisable
value, or raises :class:`gru.errors.InvalidValue` with a short reason for the user.
:data:`VALIDATORS` maps the type names used in the attribute catalogue to them, and
:func:`lookup_key` gives the canonical string that equality filters compare.
"""

import datetime
import json
import re

import email_validator
import phonenumbers
from phonenumbers import PhoneNumberType
from stdnum import exceptions as stdnum_errors
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from gru.errors import InvalidValue
from gru.identity.addresses import postal_address
from gru.identity.communes import nc_commune, nc_communes_for_postal_code  # noqa: F401 (re-exported)
from gru.identity.insee import insee_commune, insee_country
from gru.identity.strings import clean_text, compact, require_string

MAX_TEXT_LENGTH = 200
MAX_LEGAL_FORM_LENGTH = 100
MAX_EMAIL_LENGTH = 254  # RFC 5321 section 4.5.3.1.3: a path is at most 256 octets with "<>"
EARLIEST_BIRTH_YEAR = 1850
DEFAULT_PHONE_REGION = "NC"


# --- Names and free text -----------------------------------------------------------


def text(raw):
    """Names, legal names, free text: stripped, whitespace collapsed, NFC, 200 max."""
    return clean_text(raw, MAX_TEXT_LENGTH, "text")


def given_names(raw):
    """Given names, kept as one string in civil-register order ("Élise Marie").

    Commas between names ("Élise, Marie") become single spaces; hyphens inside a
    compound name ("Jean-Pierre") are kept.
    """
    value = clean_text(raw, MAX_TEXT_LENGTH, "given names")
    value = " ".join(value.replace(",", " ").split())
    if not value:
        raise InvalidValue("The given names must not be empty.")
    return value


def legal_form(raw):
    """A company's legal form as written ("SARL", "SAS", "association loi 1901")."""
    return clean_text(raw, MAX_LEGAL_FORM_LENGTH, "legal form")


def sex(raw):
    """Sex as in the civil register and the INSEE pivot: "M" or "F"."""
    value = compact(raw, "sex").upper()
    if value not in ("M", "F"):
        raise InvalidValue('The sex must be "M" or "F".')
    return value


# --- Birth date ----------------------------------------------------------------------

_BIRTH_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _latest_today():
    """Today's date where it is latest on Earth (UTC+14), so that a child born today
    in Nouméa (UTC+11) is never "in the future" for a server on UTC."""
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=14)).date()


def birth_date(raw):
    """A birth date "YYYY-MM-DD", with unknown parts written 00.

    INSEE convention for presumed dates (RNIPP, NIR): "1950-00-00" when only the year
    is known, "1950-07-00" when the day is not; an unknown month implies an unknown
    day. A complete date must exist in the calendar. Not in the future, not before 1850.
    """
    value = compact(raw, "birth date", max_length=10)
    match = _BIRTH_DATE.match(value)
    if not match:
        raise InvalidValue("A birth date is written YYYY-MM-DD (00 for an unknown day or month).")
    year, month, day = (int(part) for part in match.groups())
    if month > 12 or day > 31 or (month == 0 and day != 0):
        raise InvalidValue("This birth date does not exist.")
    if month and day:
        try:
            datetime.date(year, month, day)
        except ValueError:
            raise InvalidValue("This birth date does not exist.") from None
    if year < EARLIEST_BIRTH_YEAR:
        raise InvalidValue(f"A birth date cannot be before {EARLIEST_BIRTH_YEAR}.")
    today = _latest_today()
    # Compare only the known parts: "2024-00-00" is in the past all through 2024.
    known = (year, month or 0, day or 0)
    limit = (today.year, today.month if month else 0, today.day if day else 0)
    if known > limit:
        raise InvalidValue("A birth date cannot be in the future.")
    return value


def is_presumed_birth_date(value):
    """True when the day or the month is unknown (a 00 part, INSEE convention)."""
    return value[5:7] == "00" or value[8:10] == "00"


# --- Contact -------------------------------------------------------------------------


def email(raw):
    """An e-mail address, syntax checked (RFC 5322 / 6531 via email-validator), no DNS
    look-up; returned in the library's normalised form (domain in lower case, NFC)."""
    value = compact(raw, "e-mail address", max_length=MAX_EMAIL_LENGTH)
    try:
        result = email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise InvalidValue(f"Invalid e-mail address: {error}") from None
    return result.normalized


_PHONE_CHARACTERS = re.compile(r"^\+?[0-9 .\-()/]+$")
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
_LANDLINE_TYPES = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.VOIP,
)


def _parse_phone(raw, region):
    value = require_string(raw, "phone number").strip()
    # Letters (vanity numbers, "ext.") are refused: a number at a desk is digits.
    if not value or len(value) > 40 or not _PHONE_CHARACTERS.match(value):
        raise InvalidValue("A phone number is made of digits, optionally starting with +.")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise InvalidValue("This is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue(
            f"This is not a valid phone number for {region}; "
            "a number from elsewhere starts with + and its country code."
        )
    return number


def _e164(number):
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone(raw, region=DEFAULT_PHONE_REGION):
    """Any valid phone number (ITU-T E.164), read as national in ``region`` unless it
    starts with +; returned in E.164 ("+687 75.12.34" -> "+687751234")."""
    return _e164(_parse_phone(raw, region))


def mobile_phone(raw, region=DEFAULT_PHONE_REGION):
    """A phone number that can receive SMS: MOBILE or FIXED_LINE_OR_MOBILE."""
    number = _parse_phone(raw, region)
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidValue("This is not a mobile phone number.")
    return _e164(number)


def landline_phone(raw, region=DEFAULT_PHONE_REGION):
    """A fixed-line (or VoIP) number: FIXED_LINE, FIXED_LINE_OR_MOBILE or VOIP."""
    number = _parse_phone(raw, region)
    if phonenumbers.number_type(number) not in _LANDLINE_TYPES:
        raise InvalidValue("This is not a landline phone number.")
    return _e164(number)


# --- Company and association numbers ---------------------------------------------------


def siren(raw):
    """SIREN (INSEE Sirene register): 9 digits, Luhn checksum; compact digits."""
    value = compact(raw, "SIREN")
    try:
        return stdnum_siren.validate(value)
    except stdnum_errors.InvalidChecksum:
        raise InvalidValue("This SIREN's check digit is wrong.") from None
    except stdnum_errors.ValidationError:
        raise InvalidValue("A SIREN is 9 digits.") from None


def siret(raw):
    """SIRET: SIREN + 5-digit establishment number (NIC), Luhn checksum over the 14
    digits (La Poste's establishments excepted, as in python-stdnum)."""
    value = compact(raw, "SIRET")
    try:
        return stdnum_siret.validate(value)
    except stdnum_errors.InvalidChecksum:
        raise InvalidValue("This SIRET's check digit is wrong.") from None
    except stdnum_errors.ValidationError:
        raise InvalidValue("A SIRET is 14 digits.") from None


_RIDET = re.compile(r"^\d{7}(?:\.\d{3})?$")


def ridet(raw):
    """RIDET (ISEE, New Caledonia's company register): 7 digits, optionally "." and a
    3-digit establishment number ("1234567.001"). No check digit; leading zeros kept."""
    value = compact(raw, "RIDET")
    if not _RIDET.match(value):
        raise InvalidValue('A RIDET is 7 digits, optionally followed by "." and 3 digits.')
    return value


_RNA = re.compile(r"^W[0-9][0-9A-Z][0-9]{7}$")


def rna(raw):
    """RNA (Répertoire national des associations): "W" and 9 characters.

    The three characters after W are the registering prefecture; they are digits
    except Corsica ("2A", "2B") and some overseas prefectures ("9R"...), hence a
    letter is allowed in second place.
    """
    value = compact(raw, "RNA number").upper()
    if not _RNA.match(value):
        raise InvalidValue('An RNA number is "W" followed by 9 digits.')
    return value


_SCHEME_NUMBER = re.compile(r"^\d{5,13}$")


def social_security_number(raw):
    """A person's number with a social-security scheme, compact digits.

    15 characters: a French NIR (INSEE), whose 2-digit key is checked (python-stdnum;
    Corsica's "2A"/"2B" accepted). 5 to 13 digits: the number of another scheme (the
    CAFAT in New Caledonia, a foreign scheme), kept as written, leading zeros included;
    it has no key to check. Spaces, dots and hyphens are dropped.
    """
    value = compact(raw, "social-security number").replace(".", "").replace("-", "").upper()
    if len(value) == 15:
        try:
            return stdnum_nir.validate(value)
        except stdnum_errors.InvalidChecksum:
            raise InvalidValue("This social-security number's key is wrong.") from None
        except stdnum_errors.ValidationError:
            raise InvalidValue("Not a valid French social-security number (NIR).") from None
    if not _SCHEME_NUMBER.match(value):
        raise InvalidValue("A social-security number is a 15-character NIR or 5 to 13 digits.")
    return value


# --- Registry and equality keys -------------------------------------------------------

VALIDATORS = {
    "text": text,
    "given_names": given_names,
    "sex": sex,
    "birth_date": birth_date,
    "insee_commune": insee_commune,
    "insee_country": insee_country,
    "email": email,
    "phone": phone,
    "mobile_phone": mobile_phone,
    "landline_phone": landline_phone,
    "siren": siren,
    "siret": siret,
    "ridet": ridet,
    "rna": rna,
    "social_security_number": social_security_number,
    "legal_form": legal_form,
    "postal_address": postal_address,
}

# Types whose equality ignores case: people type names and e-mails in any case.
_CASE_INSENSITIVE_TYPES = frozenset({"text", "given_names", "legal_form", "email"})


def lookup_key(type_name, normalised_value):
    """The canonical string an equality filter compares, for an already normalised value.

    Names are casefolded but keep their accents ("Élise" and "Elise" may be two
    people); addresses are a JSON dump with sorted keys; codes, dates and E.164
    phone numbers are their own key.
    """
    if type_name not in VALIDATORS:
        raise KeyError(type_name)
    if type_name == "postal_address":
        return json.dumps(normalised_value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if type_name in _CASE_INSENSITIVE_TYPES:
        return normalised_value.casefold()
    return normalised_value
