"""How the hub decides that two records are one person (issue 6, "Matching").

A pairwise comparison in the manner of Fellegi and Sunter (1969): each field compared
gives an agreement level and a weight (positive when agreement is evidence of the same
person, negative when disagreement is evidence of two), the weights add up, and two
thresholds turn the sum into a decision. The weights are fixed here and are the same in
production, in the API, the duplicate job, the import and the benchmarks (no tuning per
data set).

The weights are rounded log-likelihood ratios, log2(m / u), squeezed so that no single
field but an identifier decides alone: m is how often the level is seen between two
records of one person (front-desk typing, a maiden name, a move), u how often between
two people who share a birth date or a (family name, first given name) pair, the
candidates that blocking (:mod:`gru.identity.search.bulk`) brings. A birth date or a
family name shared by chance is common among those candidates, hence their moderate
weight; a social-security number or a whole address shared by chance is rare, hence
their high one.

"A false merge is worse than a missed duplicate": ``match`` (certain) needs, besides
the total, a rule per case (:func:`_is_certain`): namesakes whose birth dates differ are
never a match, whatever else agrees (a child registered under a parent's number, a
father and son at one address); twins (one birth date, one family name, one address,
other given names) neither. Names are compared with Jaro-Winkler (rapidfuzz) on folded
strings (:mod:`gru.identity.names`).
"""

import math
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA, JaroWinkler

MATCH_WEIGHT = 11.0
#: a birth date one digit off, partly unknown or missing: certain only with more agreeing
MATCH_WEIGHT_INEXACT_DATE = 10.0
POSSIBLE_WEIGHT = 6.0
ORGANISATION_MATCH_WEIGHT = 8.0
ORGANISATION_POSSIBLE_WEIGHT = 4.0

FAMILY_WEIGHTS = {"exact": 4.0, "similar": 3.0, "partial": 1.5, "different": -3.0}
GIVEN_WEIGHTS = {"exact": 3.5, "first": 3.0, "similar": 2.0, "partial": 1.0, "different": -3.0}
BIRTH_DATE_WEIGHTS = {"exact": 5.0, "compatible": 2.0, "typo": 1.0, "different": -6.0}
#: social-security number (NIR, CAFAT...): equal is the strongest single evidence (u is
#: about one in the size of the population), one digit off or two swapped still strong
#: (a typing error; by chance one in a million), different is evidence of two people but
#: no veto (a number copied from another card); equal with birth dates and given names
#: that differ is ``shared``, a household's number more than a person's (a child on a
#: parent's card: the number under which children are insured is often the parent's)
SOCIAL_SECURITY_WEIGHTS = {"exact": 9.0, "typo": 3.0, "shared": 2.0, "different": -4.0}
#: postal address, graded on four parts (street number, street and lines, postal code,
#: commune): all four is a shared home (u small: a household, hence the namesake and
#: twin rules), three of four a typo in one, the street without the number or the
#: locality only is a neighbour; nothing in common is weak evidence against, since
#: people move (m of a whole change is about one in four between two records of one
#: person kept years apart); one home with birth dates that differ is ``household``, 0
#: (a family shares it: u is high among namesakes)
ADDRESS_WEIGHTS = {"exact": 4.0, "similar": 2.5, "street": 1.0, "locality": 0.5, "different": -1.5}
SWAPPED_PENALTY = -0.5
SIMILAR = 0.92
PARTIAL = 0.85
#: Jaro-Winkler from which two streets (lines glued, or their words sorted) are the same
SAME_STREET = 0.9


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
    # crosswise only when both records have both names: a missing name is no evidence
    # either way, and must not turn a disagreement into nothing
    is_complete = all(person.get("given") and (person.get("family") or person.get("usage")) for person in (left, right))
    is_swapped = is_complete and swapped > straight
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
    number_level = compare_social_security_numbers(left.get("social_security_number"),
                                                   right.get("social_security_number"))
    if number_level == "exact" and date_level == "different" and given[0] not in _AGREEING_GIVEN:
        number_level = "shared"
    if number_level != "missing":
        explanation["social_security_number"] = {"agreement": number_level,
                                                 "weight": SOCIAL_SECURITY_WEIGHTS[number_level]}
        weight += SOCIAL_SECURITY_WEIGHTS[number_level]
    weight += _contacts(explanation, left, right)
    if date_level == "different" and explanation.get("postal_address", {}).get("agreement") in ("exact", "similar"):
        # one home and two birth dates: a family (a father and his namesake son), no
        # evidence of one person
        weight -= explanation["postal_address"]["weight"]
        explanation["postal_address"] = {"agreement": "household", "weight": 0.0}
    threshold = MATCH_WEIGHT if date_level == "exact" else MATCH_WEIGHT_INEXACT_DATE
    is_certain = weight >= threshold and _is_certain(date_level, family[0], given[0], number_level, explanation)
    decision = "match" if is_certain else "possible" if weight >= POSSIBLE_WEIGHT else "none"
    return Comparison(round(weight, 2), decision, explanation)


_AGREEING_FAMILY = ("exact", "similar")
_AGREEING_GIVEN = ("exact", "first", "similar")


def _is_certain(date_level, family, given, number_level, explanation):
    """``match`` needs more than a high total (a false merge is worse than a missed one):

    - never with another sex, birth dates that differ (namesakes; a child on a parent's
      number), or other given names (twins, siblings);
    - an exact birth date: family and given names agreeing (exact or similar), or, when
      the social-security numbers are equal, the given names agreeing and the family
      name cut or replaced, or the family name agreeing and the given names cut or
      replaced, never missing (twins filed on a parent's number share surname, date and
      number: only their given names tell them apart);
    - a birth date with an unknown day or month, or one digit off: both names agreeing
      and the same social-security number; or, without one, the family name agreeing,
      the given names all exact and the birth place the same (a namesake born elsewhere
      is never a match);
    - no birth date on one side: both names agreeing and the same social-security number.
    """
    if explanation["sex"]["agreement"] == "different" or date_level == "different" or given == "different":
        return False
    family_agrees, given_agrees = family in _AGREEING_FAMILY, given in _AGREEING_GIVEN
    same_number = number_level == "exact"
    if date_level == "exact":
        return (family_agrees and given_agrees) or (same_number and given != "missing"
                                                    and (family_agrees or given_agrees))
    if date_level in ("compatible", "typo"):
        return ((family_agrees and given_agrees and same_number)
                or (family_agrees and given == "exact" and explanation["birth_place"]["agreement"] == "exact"))
    return family_agrees and given_agrees and same_number


def compare_social_security_numbers(left, right):
    """``exact``; ``typo`` (one digit replaced, or two neighbours swapped, same length);
    ``different``; ``missing``. Numbers of different lengths belong to different schemes
    (a NIR and a CAFAT number): not comparable, ``missing``."""
    if not left or not right or len(left) != len(right):
        return "missing"
    if left == right:
        return "exact"
    return "typo" if OSA.distance(left, right) <= 1 else "different"


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
    """E-mail and phones: agreement is evidence, disagreement is not (they change, and
    households share them). The postal address is graded both ways (:func:`compare_addresses`)."""
    weight = 0.0
    if left.get("email") and left.get("email") == right.get("email"):
        explanation["email"] = {"agreement": "exact", "weight": 2.0}
        weight += 2.0
    if set(left.get("phones", ())) & set(right.get("phones", ())):
        explanation["phone"] = {"agreement": "exact", "weight": 2.0}
        weight += 2.0
    level = compare_addresses(left.get("address"), right.get("address"))
    if level != "missing":
        explanation["postal_address"] = {"agreement": level, "weight": ADDRESS_WEIGHTS[level]}
        weight += ADDRESS_WEIGHTS[level]
    return weight


def compare_addresses(left, right):
    """Agreement of two profile addresses (``line``: folded lines, street number first;
    ``postal_code``; ``commune``) on four parts: street number, street and other lines,
    postal code, commune. Parts missing on one side do not count."""
    if not left or not right or not (left.get("line") and right.get("line")):
        return "missing"
    left_number, left_street = _street(left["line"])
    right_number, right_street = _street(right["line"])
    parts = {"street": _same_street(left_street, right_street)}
    if left_number and right_number:
        parts["number"] = left_number == right_number
    if left.get("postal_code") and right.get("postal_code"):
        parts["postal_code"] = left["postal_code"] == right["postal_code"]
    if left.get("commune") and right.get("commune"):
        parts["commune"] = _glued(left["commune"]) == _glued(right["commune"]) or similarity(
            _glued(left["commune"]), _glued(right["commune"])) >= SIMILAR
    locality = parts.get("postal_code") or parts.get("commune")
    agreeing = sum(parts.values())
    if agreeing == len(parts) and locality:
        return "exact" if len(parts) >= 3 else "similar"
    if agreeing == len(parts) - 1 and agreeing >= 2 and parts["street"]:
        return "similar"
    if parts["street"] and locality:
        return "street"
    if locality:
        return "locality"
    return "different" if not parts["street"] else "street"


def _street(line):
    """``(street number, the rest)`` of a folded address line ("12 b rue x" -> "12", "b rue x")."""
    words = line.split()
    if words and words[0][:1].isdigit():
        return words[0], " ".join(words[1:])
    return None, line


def _same_street(left, right):
    if not left or not right:
        return False
    glued = similarity(_glued(left), _glued(right))
    sorted_words = similarity("".join(sorted(left.split())), "".join(sorted(right.split())))
    return max(glued, sorted_words) >= SAME_STREET
