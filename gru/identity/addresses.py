"""Postal addresses, with New Caledonia's postal codes checked against its communes.

Shape: {"lines": [...], "postal_code": ..., "commune_insee": ..., "commune_name": ...,
"country": ISO 3166-1 alpha-2, default "NC"}. Lines follow AFNOR NF Z10-011 / the UPU
S42 habit: at most 5 lines of 100 characters besides the postal-code-and-town line,
which is built from ``postal_code`` and ``commune_name``.
"""

import re

from gru.errors import InvalidValue
from gru.identity import communes
from gru.identity.insee import insee_commune
from gru.identity.strings import clean_text, compact

KEYS = ("lines", "postal_code", "commune_insee", "commune_name", "country")
MAX_LINES = 5
MAX_LINE_LENGTH = 100
MAX_COMMUNE_NAME_LENGTH = 100
MAX_FOREIGN_POSTAL_CODE_LENGTH = 20

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_FRENCH_POSTAL_CODE = re.compile(r"^\d{5}$")
_NC_POSTAL_CODE = re.compile(r"^988\d{2}$")


def postal_address(raw):
    """Validate a postal address; return it normalised, keys in :data:`KEYS` order,
    absent optional keys omitted."""
    if not isinstance(raw, dict):
        raise InvalidValue("A postal address must be an object.")
    unknown = sorted(str(key) for key in raw if key not in KEYS)
    if unknown:
        raise InvalidValue(f"Unknown postal address field: {unknown[0][:40]}.")

    country = _country("NC" if raw.get("country") is None else raw["country"])
    address = {"lines": _lines(raw.get("lines"))}
    if country == "NC":
        address.update(_new_caledonia_locality(raw))
    elif country == "FR":
        address.update(_french_locality(raw))
    else:
        address.update(_foreign_locality(raw))
    address["country"] = country
    return {key: address[key] for key in KEYS if key in address}


def _country(raw):
    country = compact(raw, "country code").upper()
    if not _COUNTRY.match(country):
        raise InvalidValue("The country must be an ISO 3166-1 alpha-2 code, such as NC or FR.")
    return country


def _lines(raw):
    if not isinstance(raw, list) or not raw:
        raise InvalidValue("A postal address needs a list of 1 to 5 lines.")
    if len(raw) > MAX_LINES:
        raise InvalidValue(f"A postal address has at most {MAX_LINES} lines.")
    return [clean_text(line, MAX_LINE_LENGTH, "address line") for line in raw]


def _optional_commune_name(raw):
    name = raw.get("commune_name")
    return None if name is None else clean_text(name, MAX_COMMUNE_NAME_LENGTH, "commune name")


def _new_caledonia_locality(raw):
    """OPT-NC: a NC postal code is 5 digits starting with 988 and serves known
    communes; the commune, when given or deducible, must be one of them."""
    if raw.get("postal_code") is None:
        raise InvalidValue("A New Caledonia address needs a postal code.")
    postal_code = compact(raw["postal_code"], "postal code")
    if not _NC_POSTAL_CODE.match(postal_code):
        raise InvalidValue("A New Caledonia postal code is 5 digits starting with 988.")
    served = communes.nc_communes_for_postal_code(postal_code)
    if not served:
        if communes.nc_commune(postal_code):
            raise InvalidValue(
                f"{postal_code} is an INSEE commune code, not a New Caledonia postal code."
            )
        raise InvalidValue("Unknown New Caledonia postal code.")
    name = _optional_commune_name(raw)

    if raw.get("commune_insee") is not None:
        commune = communes.nc_commune(insee_commune(raw["commune_insee"]))
        if commune is None:
            raise InvalidValue("The commune is not in New Caledonia.")
        if postal_code not in commune["postal_codes"]:
            raise InvalidValue(f"Postal code {postal_code} does not serve {commune['name']}.")
    elif len(served) == 1:
        commune = served[0]
    else:
        # A postal code shared by several communes: the name must say which one.
        matching = [c for c in served if name and communes.nc_name_matches(c["insee"], name)]
        if len(matching) != 1:
            raise InvalidValue("This postal code serves several communes: give the commune.")
        commune = matching[0]

    if name is not None and not communes.nc_name_matches(commune["insee"], name):
        raise InvalidValue(f"The commune name does not match {commune['name']}.")
    return {
        "postal_code": postal_code,
        "commune_insee": commune["insee"],
        "commune_name": commune["name"],
    }


def _french_locality(raw):
    """La Poste: a French postal code is 5 digits; the town name is required."""
    if raw.get("postal_code") is None:
        raise InvalidValue("A French address needs a postal code.")
    postal_code = compact(raw["postal_code"], "postal code")
    if not _FRENCH_POSTAL_CODE.match(postal_code):
        raise InvalidValue("A French postal code is 5 digits.")
    locality = {"postal_code": postal_code}
    if raw.get("commune_insee") is not None:
        locality["commune_insee"] = insee_commune(raw["commune_insee"])
    locality["commune_name"] = _required_commune_name(raw)
    return locality


def _foreign_locality(raw):
    locality = {}
    if raw.get("postal_code") is not None:
        locality["postal_code"] = clean_text(
            raw["postal_code"], MAX_FOREIGN_POSTAL_CODE_LENGTH, "postal code"
        )
    if raw.get("commune_insee") is not None:
        raise InvalidValue("An INSEE commune code only applies to a French address.")
    locality["commune_name"] = _required_commune_name(raw)
    return locality


def _required_commune_name(raw):
    name = _optional_commune_name(raw)
    if name is None:
        raise InvalidValue("The address needs a town (commune_name).")
    return name
