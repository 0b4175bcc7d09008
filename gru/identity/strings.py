"""String primitives shared by the validators: type checks, cleaning, folding.

Every validator goes through :func:`clean_text` so that one rule set decides what a
stored string may contain: no control character (PostgreSQL rejects NUL in ``text``
columns; the others break CSV exports and log lines), no unpaired surrogate (cannot
be encoded as UTF-8), no bidirectional override (it can make a displayed value lie
about its content, "Trojan Source", CVE-2021-42574).
"""

import re
import unicodedata

from gru.errors import InvalidValue

# Unicode bidirectional embedding, override and isolate controls (UAX #9 section 2).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def require_string(raw, what="value"):
    """Return ``raw`` if it is a JSON string; a number, list or null is an error."""
    # bool is not str, but say it plainly rather than relying on that.
    if not isinstance(raw, str):
        raise InvalidValue(f"The {what} must be a string.")
    return raw


# Unicode Cc (U+0000-U+001F, U+007F-U+009F), Cs (U+D800-U+DFFF) and the bidi controls, as
# one character class: a search runs in C, where a loop over unicodedata.category took
# a tenth of a bulk creation (tests/identity/test_validators.py checks every code point).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff" + "".join(sorted(_BIDI_CONTROLS)) + "]")
# Noncharacters (Unicode 15.0 section 23.7): U+FDD0-U+FDEF and the last two code points of
# each of the 17 planes.
_NONCHARACTER = re.compile(
    "[\ufdd0-\ufdef" + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17)) + "]"
)


def reject_forbidden_characters(value, what="value"):
    """Reject control characters (Unicode Cc, including NUL and newlines), unpaired
    surrogates (Cs), noncharacters and bidirectional controls."""
    if _CONTROL.search(value):
        raise InvalidValue(f"The {what} contains a control character.")
    if _NONCHARACTER.search(value):
        raise InvalidValue(f"The {what} contains a non-character.")


def clean_text(raw, max_length, what="value"):
    """Strip, collapse internal whitespace to one space and NFC-normalise a string.

    NFC (Unicode Standard Annex #15) first, so that "é" typed as "e" + combining
    accent and "é" precomposed compare equal and count as one character.
    """
    value = require_string(raw, what)
    reject_forbidden_characters(value, what)
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if not value:
        raise InvalidValue(f"The {what} must not be empty.")
    if len(value) > max_length:
        raise InvalidValue(f"The {what} is too long ({max_length} characters at most).")
    return value


def compact(raw, what="value", max_length=40):
    """Return a code with every whitespace removed ("123 456 789" -> "123456789")."""
    value = require_string(raw, what)
    reject_forbidden_characters(value, what)
    value = "".join(value.split())
    if not value:
        raise InvalidValue(f"The {what} must not be empty.")
    if len(value) > max_length:
        raise InvalidValue(f"The {what} is too long.")
    return value


def fold(value):
    """Accent-, case- and punctuation-insensitive form, to compare place names.

    "Île-des-Pins", "ile des pins" and "ILE DES PINS" all fold to "ile des pins";
    an article is kept ("L'Île-des-Pins" folds to "l ile des pins").
    """
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    for separator in "-'’.,":
        letters = letters.replace(separator, " ")
    return " ".join(letters.split())
