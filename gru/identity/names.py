"""Normalising names for search and matching (issue 6, "Names and normalisation").

Every name goes through :func:`fold` (case, accents, ligatures, hyphens and apostrophes
as separators: ``unicodedata`` only), then :func:`name_tokens` gives what is indexed:

- each token of a compound name ("Martin-Dupont" -> ``martin``, ``dupont``) and, for a
  name of several tokens, the glued whole (``martindupont``);
- particles indexed both apart and glued: "de la Croix" gives ``croix`` and
  ``delacroix``, so that "Delacroix" and "de la Croix" find each other;
- civil-status words ("née", "épouse", "veuve", "dit") are never tokens:
  :func:`split_civil_name` reads them as the birth name / usage name boundary.

Organisation names lose their legal form ("SARL", "SAS", "association"...):
:func:`organisation_tokens`. Typo tolerance comes from :func:`deletion_keys`
(symmetric deletions: two words one edit apart share a key), the same on SQLite and
PostgreSQL, and from Jaro-Winkler re-ranking (rapidfuzz) of the few candidates found.
"""

import functools
import re
import unicodedata

#: particles of French (and Dutch, Italian, Spanish, Portuguese) surnames
PARTICLES = frozenset({"de", "du", "des", "d", "la", "le", "les", "l", "van", "von", "der", "den", "di",
                       "da", "del", "della", "dos", "das", "do", "ter", "ten", "y", "saint", "st", "ste"})
#: words a desk agent or an application writes between birth name and usage name
_BIRTH_NAME_FOLLOWS = ("nee", "ne")  # "Dupont née Martin": usage, then birth name
_USAGE_NAME_FOLLOWS = ("epouse", "ep", "epse", "veuve", "vve", "vv", "divorcee", "dite", "dit")
CIVIL_WORDS = frozenset(_BIRTH_NAME_FOLLOWS + _USAGE_NAME_FOLLOWS)

#: legal forms and generic words of organisation names (not distinctive for matching)
LEGAL_FORMS = frozenset({
    "sarl", "sarlu", "sas", "sasu", "sa", "eurl", "sci", "snc", "scs", "sca", "scop", "scic", "gie", "gip",
    "selarl", "selas", "sem", "spl", "ei", "eirl", "micro", "entreprise", "ets", "etablissements",
    "etablissement", "societe", "ste", "cie", "compagnie", "association", "asso", "assoc", "loi", "1901",
    "federation", "groupement", "syndicat", "cooperative", "holding", "group", "groupe", "ltd", "inc",
    # households are named "Foyer Tein", "Famille Gope": the word says nothing of which one
    "foyer", "famille", "menage",
})
_ORG_STOPWORDS = frozenset({"et", "and", "of", "the", "a", "au", "aux", "en", "pour", "sur"}) | PARTICLES
_LIGATURES = {"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "ı": "i"}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
MIN_TOKEN_LENGTH = 2
#: tokens shorter than this get no deletion key (one edit on "li" matches everything)
MIN_FUZZY_LENGTH = 4


#: a bulk import folds the same few thousand names over and over (issue 6, "Bulk import")
_CACHED = 200_000


def fold(text):
    """Lower-case ASCII letters and digits separated by single spaces.

    "Élise-Marie D'Arcy" -> ``"elise marie d arcy"``; "Œuvre" -> ``"oeuvre"``.
    """
    return _fold(str(text)) if text else ""


@functools.lru_cache(maxsize=_CACHED)
def _fold(text):
    lowered = unicodedata.normalize("NFKD", text.casefold())
    lowered = "".join(_LIGATURES.get(char, char) for char in lowered if not unicodedata.combining(char))
    return " ".join(_NOT_ALNUM.sub(" ", lowered).split())


def split_civil_name(text):
    """``(birth name, usage name)`` read from a name written with "née" or "épouse".

    "Dupont née Martin" -> ("Martin", "Dupont"); "Martin épouse Dupont" and
    "Martin veuve Dupont" -> ("Martin", "Dupont"); "Martin" -> ("Martin", None).
    The parts are returned as written (not folded).
    """
    if not text:
        return text, None
    words = str(text).split()
    for index in range(1, len(words) - 1):
        folded = fold(words[index]).replace(" ", "")
        if folded in ("nee", "ne"):
            return " ".join(words[index + 1:]), " ".join(words[:index])
        if folded in _USAGE_NAME_FOLLOWS:
            return " ".join(words[:index]), " ".join(words[index + 1:])
    return text, None


def name_tokens(text, glue_whole=True):
    """The search tokens of a person's name: its words, particles glued, the glued whole."""
    return list(_name_tokens(str(text), glue_whole)) if text else []


@functools.lru_cache(maxsize=_CACHED)
def _name_tokens(text, glue_whole):
    words = [word for word in fold(text).split() if word not in CIVIL_WORDS]
    if not words:
        return ()
    tokens = []
    significant = [word for word in words if word not in PARTICLES] or words
    tokens.extend(word for word in significant if len(word) >= MIN_TOKEN_LENGTH)
    # A particle glued onto what follows it: "de la croix" -> "delacroix", "le goff" -> "legoff".
    for index, word in enumerate(words):
        if word in PARTICLES and index + 1 < len(words) and (index == 0 or words[index - 1] not in PARTICLES):
            end = index
            while end < len(words) and words[end] in PARTICLES:
                end += 1
            if end < len(words):
                tokens.append("".join(words[index:end + 1]))
    if glue_whole and len(words) > 1:
        tokens.append("".join(words))
    return tuple(_unique(tokens))


def organisation_name(text):
    """An organisation's name without legal form or stopwords, folded: for comparison."""
    words = [word for word in fold(text).split() if word not in LEGAL_FORMS and word not in _ORG_STOPWORDS]
    return " ".join(words) or fold(text)


def organisation_tokens(text):
    words = organisation_name(text).split()
    tokens = [word for word in words if len(word) >= MIN_TOKEN_LENGTH]
    if len(words) > 1:
        tokens.append("".join(words))
    return _unique(tokens)


def query_tokens(text):
    """Tokens of a free-text query (any order of names; "née"/"épouse" ignored).

    The same rules as :func:`name_tokens`, so that a query finds what was indexed;
    legal-form words are dropped too, so that "SARL Dumbéa Froid" finds "Dumbéa Froid".
    """
    tokens = name_tokens(text, glue_whole=False)
    stripped = [token for token in tokens if token not in LEGAL_FORMS]
    return stripped or tokens


def query_particles(text):
    """The particles of a query that may be a whole family name, besides gluing onto
    the next word as in "Le Goff": "Lê Aiko" folds to "le aiko", and Lê, Do or Van is a
    family name of its own (indexed as such by :func:`name_tokens`)."""
    words = [word for word in fold(text or "").split() if word not in CIVIL_WORDS]
    if all(word in PARTICLES for word in words):
        return []
    return _unique(word for word in words if word in PARTICLES and len(word) >= MIN_TOKEN_LENGTH)


def deletion_keys(token):
    """The token and every form of it with one letter deleted (symmetric deletion).

    Two tokens at most one edit apart (insertion, deletion, substitution, adjacent
    transposition) share at least one key: "wamitan" and "wamytan" share "wamtan".
    """
    if len(token) < MIN_FUZZY_LENGTH:
        return {token}
    return {token} | {token[:index] + token[index + 1:] for index in range(len(token))}


def _unique(items):
    seen, unique = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            unique.append(item)
    return unique
