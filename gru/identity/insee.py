"""INSEE codes: communes (COG) and countries of birth.

INSEE Code officiel géographique (COG): a commune code is 5 characters, the department
(2 characters, or 3 overseas) followed by the commune's number in it. Corsica's two
departments are "2A" and "2B" (since 1976, and the COG uses them for earlier births
too); plain "20" is not a department. Overseas: 971 to 978, then the collectivities
986 (Wallis-et-Futuna), 987 (French Polynesia) and 988 (New Caledonia). A country is
coded "99" followed by 3 digits (99100 France, 99350 Morocco).
"""

import re

from gru.errors import InvalidValue
from gru.identity.communes import nc_commune, nc_communes_for_postal_code
from gru.identity.strings import compact

_COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_COUNTRY_CODE = re.compile(r"^99\d{3}$")
_OVERSEAS_COLLECTIVITIES = ("986", "987", "988")


def _department_of(code):
    """The department (or collectivity) part of a well-formed commune code, or None."""
    if code.startswith("2A") or code.startswith("2B"):
        return code[:2]
    if code.startswith("97"):
        return code[:3] if "1" <= code[2] <= "8" else None
    if code.startswith("98"):
        return code[:3] if code[:3] in _OVERSEAS_COLLECTIVITIES else None
    if "01" <= code[:2] <= "95" and code[:2] != "20":
        return code[:2]
    return None


def insee_commune(raw):
    """Validate an INSEE commune code; return it in upper case.

    New Caledonia codes (988xx) must be one of the 33 communes; a NC postal code
    given instead (98800 for Nouméa) is refused with the commune's real INSEE code.
    """
    code = compact(raw, "INSEE commune code").upper()
    if code.startswith("99") and _COUNTRY_CODE.match(code):
        raise InvalidValue("This is an INSEE country code (99xxx), not a commune code.")
    if not _COMMUNE_CODE.match(code):
        raise InvalidValue("An INSEE commune code is 5 characters: 5 digits, or 2A/2B and 3 digits.")
    if code.startswith("20"):
        raise InvalidValue("Corsican commune codes start with 2A or 2B, not 20.")
    department = _department_of(code)
    if department is None:
        raise InvalidValue("This INSEE commune code does not start with a French department.")
    if department == "988":
        return _nc_commune_code(code)
    if code[len(department):].strip("0") == "":
        raise InvalidValue("This INSEE commune code has no commune number.")
    return code


def _nc_commune_code(code):
    if nc_commune(code) is not None:
        return code
    served = nc_communes_for_postal_code(code)
    if served:
        names = ", ".join(f"{c['name']} is INSEE {c['insee']}" for c in served)
        raise InvalidValue(
            f"{code} is a New Caledonia postal code, not an INSEE commune code ({names})."
        )
    raise InvalidValue("New Caledonia INSEE commune codes go from 98801 to 98833.")


def insee_country(raw):
    """Validate an INSEE country code: "99" and 3 digits (format only)."""
    code = compact(raw, "INSEE country code")
    if not _COUNTRY_CODE.match(code):
        raise InvalidValue("An INSEE country code is 99 followed by 3 digits (99100 for France).")
    return code
