"""The 33 communes of New Caledonia: INSEE codes, official names, postal codes.

INSEE COG: New Caledonia's communes are coded 98801 to 98833 (Kouaoua, created in
1995, got the last number). Their postal codes (OPT-NC) are a different numbering:
Nouméa is INSEE 98818 but postal code 98800, and the two ranges overlap (98811 is
Koné's INSEE code and Bélep's postal code), so a bare 988xx never says which one it is.
"""

import json
from functools import lru_cache
from importlib import resources

from gru.identity.strings import fold

NC_POSTAL_CODE_PREFIX = "988"


@lru_cache(maxsize=1)
def _load():
    text = resources.files("gru.identity").joinpath("data/nc_communes.json").read_text("utf-8")
    communes = json.loads(text)["communes"]
    by_insee = {commune["insee"]: commune for commune in communes}
    by_postal_code = {}
    for commune in communes:
        for postal_code in commune["postal_codes"]:
            by_postal_code.setdefault(postal_code, []).append(commune)
    return by_insee, by_postal_code


def _public(commune):
    # Callers get a copy: the cached data must not be changed through them.
    return {
        "insee": commune["insee"],
        "name": commune["name"],
        "province": commune["province"],
        "postal_codes": list(commune["postal_codes"]),
    }


def nc_commune(insee):
    """The New Caledonia commune with this INSEE code, or None."""
    commune = _load()[0].get(insee)
    return _public(commune) if commune else None


def nc_communes():
    """All 33 communes, in INSEE code order."""
    return [_public(commune) for _, commune in sorted(_load()[0].items())]


def nc_communes_for_postal_code(postal_code):
    """The communes served by this NC postal code (usually one), or an empty list."""
    return [_public(commune) for commune in _load()[1].get(postal_code, [])]


def is_nc_postal_code(postal_code):
    return postal_code in _load()[1]


def nc_name_matches(insee, name):
    """True when ``name`` is the commune's official name or a known variant, compared
    without accents, case or punctuation ("Mont-Dore" and "le mont dore" both match)."""
    commune = _load()[0].get(insee)
    if commune is None:
        return False
    accepted = {fold(commune["name"])} | {fold(alias) for alias in commune.get("aliases", ())}
    return fold(name) in accepted
