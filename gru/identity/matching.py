"""How the hub decides that two records are one person (issue 6, "Matching").

A pairwise comparison in the manner of Fellegi and Sunter (1969): each field compared
gives an agreement level and a weight (positive when agreement is evidence of the same
person, negative when disagreement is evidence of two), the weights add up, and two
thresholds turn the sum into a decision. The weights are fixed here and are the same in
production, in the API and in the benchmarks (no tuning per data set).

"A false merge is worse than a missed duplicate": ``match`` (certain) needs, besides
the total, an exact birth date and agreeing family and given names; namesakes whose
birth dates differ get a large negative weight and are never a match. Names are
compared with Jaro-Winkler (rapidfuzz) on folded strings (:mod:`gru.identity.names`).
"""

import math
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA, JaroWinkler

MATCH_WEIGHT = 11.0
#: a birth date one digit off or partly unknown: certain only with everything else agreeing
MATCH_WEIGHT_INEXACT_DATE = 10.0
POSSIBLE_WEIGHT = 6.0
ORGANISATION_MATCH_WEIGHT = 8.0
ORGANISATION_POSSIBLE_WEIGHT = 4.0

FAMILY_WEIGHTS = {"exact": 4.0, "similar": 3.0, "partial": 1.5, "different": -3.0}
GIVEN_WEIGHTS = {"exact": 3.5, "first": 3.0, "similar": 2.0, "partial": 1.0, "different": -3.0}
BIRTH_DATE_WEIGHTS = {"exact": 5.0, "compatible": 2.0, "typo": 1.0, "different": -6.0}
SWAPPED_PENALTY = -0.5
SIMILAR = 0.92
PARTIAL = 0.85


@dataclass
class Comparison:
    weight: float
    decision: str
    explanation: dict = field(default_factory=dict)

    @property
    def score(self):
        """A number in (0, 1) rising with the weight (a logistic of it), for display and sorting."""
        return round(1 / (1 + math.exp(-(self.weight - 8.0) / 1.5)), 3)


def similarity(left, right):
    return JaroWinkler.similarity(left, right)


def _glued(text):
    return (text or "").replace(" ", "")


def compare_family(left_names, right_names):
    """Best agreement between any birth/usage name of one and any of the other."""
    best, best_sim = "missing", 0.0
    for left in filter(None, left_names):
        for right in filter(None, right_names):
            level, sim = _name_level(left, right)
            if _rank(level) > _rank(best) or (level == best and sim > best_sim):
                best, best_sim = level, sim
    return best, best_sim


def _name_level(left, right):
    glued_left, glued_right = _glued(left), _glued(right)
    if glued_left == glued_right:
        return "exact", 1.0
    sim = similarity(glued_left, glued_right)
    if sim >= SIMILAR or _one_edit(glued_left, glued_right):
        return "similar", sim
    left_tokens, right_tokens = set(left.split()), set(right.split())
    if left_tokens <= right_tokens or right_tokens <= left_tokens:
        return "similar", sim  # one half of a compound name ("Morin-Noël" / "Noël")
    shared = {token for token in left_tokens if len(token) >= 3} & right_tokens
    if shared or sim >= PARTIAL:
        return "partial", sim
    return "different", sim


_ORDER = ("missing", "different", "partial", "similar", "first", "exact")


def _rank(level):
    return _ORDER.index(level)


def compare_given(left, right):
    if not left or not right:
        return "missing", 0.0
    if _glued(left) == _glued(right):
        return "exact", 1.0
    left_tokens, right_tokens = left.split(), right.split()
    if left_tokens[0] == right_tokens[0]:
        return "first", 1.0
    sim = similarity(left_tokens[0], right_tokens[0])
    if sim >= 0.9 or _one_edit(left_tokens[0], right_tokens[0]) or set(left_tokens) & set(right_tokens):
        return "similar", max(sim, 0.9)
    if sim >= 0.8:
        return "partial", sim
    return "different", sim


def compare_birth_dates(left, right):
    """INSEE convention: ``00`` is an unknown day or month, compatible with any."""
    if not left or not right:
        return "missing"
    if left == right:
        return "compatible" if "-00" in left else "exact"
    left_parts, right_parts = left.split("-"), right.split("-")
    known = [(a, b) for a, b in zip(left_parts, right_parts) if a.strip("0") and b.strip("0")]
    if all(a == b for a, b in known):
        return "compatible"
    if left_parts[0] == right_parts[0] and left_parts[1:] == right_parts[1:][::-1]:
        return "typo"  # day and month swapped
    differing = sum(a != b for a, b in zip(left.replace("-", ""), right.replace("-", "")))
    return "typo" if differing == 1 else "different"


def compare_persons(left, right):
    """Compare two person profiles (:func:`gru.identity.search.index.profile_of`)."""
    explanation, weight = {}, 0.0
    straight_family = compare_family((left.get("family"), left.get("usage")), (right.get("family"), right.get("usage")))
    straight_given = compare_given(left.get("given"), right.get("given"))
    swapped_family = compare_family((left.get("given"),), (right.get("family"), right.get("usage")))
    swapped_given = compare_given(left.get("family"), right.get("given"))
    straight = FAMILY_WEIGHTS.get(straight_family[0], 0) + GIVEN_WEIGHTS.get(straight_given[0], 0)
    swapped = FAMILY_WEIGHTS.get(swapped_family[0], 0) + GIVEN_WEIGHTS.get(swapped_given[0], 0) + SWAPPED_PENALTY
    is_swapped = swapped > straight
    family, given = (swapped_family, swapped_given) if is_swapped else (straight_family, straight_given)
    for key, (level, sim), weights in (("family_name", family, FAMILY_WEIGHTS), ("given_names", given, GIVEN_WEIGHTS)):
        explanation[key] = {"agreement": level, "similarity": round(sim, 3), "weight": weights.get(level, 0.0)}
        weight += weights.get(level, 0.0)
    if is_swapped:
        explanation["swapped_names"] = {"agreement": "swapped", "weight": SWAPPED_PENALTY}
        weight += SWAPPED_PENALTY
    date_level = compare_birth_dates(left.get("birth_date"), right.get("birth_date"))
    explanation["birth_date"] = {"agreement": date_level, "weight": BIRTH_DATE_WEIGHTS.get(date_level, 0.0)}
    weight += BIRTH_DATE_WEIGHTS.get(date_level, 0.0)
    for key, same, different in (("sex", 0.5, -2.5), ("birth_place", 1.5, -1.5), ("birth_country", 0.5, -1.5)):
        weight += _equality(explanation, key, left.get(key), right.get(key), same, different)
    weight += _contacts(explanation, left, right)
    is_certain = (weight >= (MATCH_WEIGHT if date_level == "exact" else MATCH_WEIGHT_INEXACT_DATE)
                  and _is_certain(date_level, family[0], given[0], explanation))
    decision = "match" if is_certain else "possible" if weight >= POSSIBLE_WEIGHT else "none"
    return Comparison(round(weight, 2), decision, explanation)


def _is_certain(date_level, family, given, explanation):
    """``match`` needs more than a high total (a false merge is worse than a missed one):

    - an exact birth date, agreeing family names (exact or similar) and given names;
    - or a birth date with an unknown day or month, or one digit off, only when the
      family name is exact or similar, the given names all exact and the birth place the
      same: a namesake born elsewhere, or a twin (other given names), is never a match.
    """
    if explanation["sex"]["agreement"] == "different" or family not in ("exact", "similar"):
        return False
    if date_level == "exact":
        return given in ("exact", "first", "similar")
    return (date_level in ("compatible", "typo") and given == "exact"
            and explanation["birth_place"]["agreement"] == "exact")


def _one_edit(left, right):
    """At most one insertion, deletion, substitution or transposition, on names of 4+ letters."""
    return min(len(left), len(right)) >= 4 and OSA.distance(left, right) <= 1


def compare_organisations(left, right):
    """Identifiers first (SIRET, SIREN, RIDET, RNA): equal is a match, different is not."""
    explanation, weight, identified = {}, 0.0, False
    for key in ("siret", "siren", "ridet", "rna"):
        if left.get(key) and right.get(key):
            same = _identifier_equal(key, left[key], right[key])
            explanation[key] = {"agreement": "exact" if same else "different", "weight": 10.0 if same else -10.0}
            weight += explanation[key]["weight"]
            identified = identified or same
    level, sim = _name_level(left.get("name") or "", right.get("name") or "") if left.get("name") and right.get(
        "name") else ("missing", 0.0)
    name_weight = {"exact": 6.0, "similar": 4.0, "partial": 1.0, "different": -3.0}.get(level, 0.0)
    explanation["name"] = {"agreement": level, "similarity": round(sim, 3), "weight": name_weight}
    weight += name_weight
    weight += _contacts(explanation, left, right)
    has_conflict = any(item.get("agreement") == "different" and key in ("siret", "siren", "ridet", "rna")
                       for key, item in explanation.items())
    if identified and not has_conflict:
        decision = "match"
    elif has_conflict:
        decision = "none"
    else:
        decision = ("match" if weight >= ORGANISATION_MATCH_WEIGHT + 2 and level == "exact"
                    else "possible" if weight >= ORGANISATION_POSSIBLE_WEIGHT else "none")
    return Comparison(round(weight, 2), decision, explanation)


def compare(kind, left, right):
    return compare_persons(left, right) if kind == "person" else compare_organisations(left, right)


def _identifier_equal(key, left, right):
    if key == "ridet":  # a company's RIDET (7 digits) and one establishment's (7 + 3) name one company
        return str(left).split(".")[0] == str(right).split(".")[0]
    return str(left) == str(right)


def _equality(explanation, key, left, right, same, different):
    if not left or not right:
        explanation[key] = {"agreement": "missing", "weight": 0.0}
        return 0.0
    level = "exact" if left == right else "different"
    explanation[key] = {"agreement": level, "weight": same if level == "exact" else different}
    return explanation[key]["weight"]


def _contacts(explanation, left, right):
    """E-mail, phones and address: agreement is evidence, disagreement is not (people move)."""
    weight = 0.0
    if left.get("email") and left.get("email") == right.get("email"):
        explanation["email"] = {"agreement": "exact", "weight": 2.0}
        weight += 2.0
    if set(left.get("phones", ())) & set(right.get("phones", ())):
        explanation["phone"] = {"agreement": "exact", "weight": 2.0}
        weight += 2.0
    left_address, right_address = left.get("address"), right.get("address")
    if left_address and right_address and left_address.get("postal_code") == right_address.get("postal_code"):
        lines_sim = similarity(left_address.get("line") or "", right_address.get("line") or "")
        if left_address.get("line") and lines_sim >= SIMILAR:
            explanation["postal_address"] = {"agreement": "similar", "similarity": round(lines_sim, 3), "weight": 1.5}
            weight += 1.5
    return weight
