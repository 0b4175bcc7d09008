"""The attribute catalogue and the certification processes.

The catalogue says, for each attribute, its value type, the party kinds it applies to,
whether it is part of the identity pivot (INSEE/RNIPP pivot: birth name, given names,
sex, birth date, birthplace, birth country), its sensitivity, and whether a proof can
certify it above level 100. It ships as ``data/attributes.json``; a deployment may add
attributes of its own in extra files (setting ``GRU_ATTRIBUTES_FILE``), never redefine
a built-in one.
"""

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gru.errors import ConfigurationError, InvalidValue
from gru.identity import validators

PARTY_KINDS = ("person", "household", "association", "company")
CHANNELS = ("desk", "phone", "post", "email", "online", "application", "import")
#: 100 declared; 200 contact verified; 300 non-official proof seen; 400 official proof
#: (scan) checked; 500 original official document checked, person present; 600
#: authoritative source.
LEVELS = (100, 200, 300, 400, 500, 600)
SENSITIVITIES = ("normal", "personal", "sensitive")

_ATTRIBUTE_FIELDS = ("key", "type", "kinds", "pivot", "sensitivity", "certifiable", "label_fr")
_PROCESS_FIELDS = ("code", "level", "label_fr")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class AttributeDefinition:
    key: str
    type: str
    kinds: frozenset
    is_pivot: bool
    sensitivity: str
    is_certifiable: bool
    label: str

    def validate(self, raw):
        """The normalised value; raises InvalidValue."""
        return validators.VALIDATORS[self.type](raw)

    def lookup_key(self, normalised):
        return validators.lookup_key(self.type, normalised)


@dataclass(frozen=True)
class Process:
    code: str
    level: int
    label: str


class Catalogue:
    """Attribute definitions (in file order) and certification processes."""

    def __init__(self, definitions, processes, version):
        self._definitions = {definition.key: definition for definition in definitions}
        self._processes = {process.code: process for process in processes}
        self.processes = list(processes)
        self.version = version

    def get(self, key):
        """The definition of ``key``; raises KeyError for an unknown attribute."""
        return self._definitions[key]

    def __contains__(self, key):
        return key in self._definitions

    def __iter__(self):
        return iter(self._definitions.values())

    def __len__(self):
        return len(self._definitions)

    def for_kind(self, kind):
        if kind not in PARTY_KINDS:
            raise InvalidValue(f"Unknown party kind; expected one of {', '.join(PARTY_KINDS)}.")
        return [definition for definition in self if kind in definition.kinds]

    def process(self, code):
        try:
            return self._processes[code]
        except (KeyError, TypeError):
            raise InvalidValue(
                f"unknown certification process; expected one of {', '.join(self._processes)}."
            ) from None

    def level_for(self, process_code):
        return self.process(process_code).level


def load_catalogue(extra_files=()):
    """Load the packaged catalogue, then each extra attribute file in turn.

    Raises ConfigurationError, naming the file and the entry, for a malformed file or
    entry, an unknown type or kind, a redefined key, or an extra pivot attribute (the
    pivot is fixed by the INSEE/RNIPP identity, not by a deployment).
    """
    packaged = resources.files("gru.identity").joinpath("data")
    base = _read_json(packaged.joinpath("attributes.json"), "attributes.json")
    definitions = _parse_attributes(base, "attributes.json", builtin=True)
    processes = _parse_processes(
        _read_json(packaged.joinpath("processes.json"), "processes.json"), "processes.json"
    )
    version = str(base["version"])
    keys = {definition.key for definition in definitions}
    for extra_file in extra_files:
        name = str(extra_file)
        added = _parse_attributes(_read_json(Path(extra_file), name), name, builtin=False)
        for definition in added:
            if definition.key in keys:
                raise ConfigurationError(
                    f"{name}: attribute {definition.key!r} is already defined."
                )
            keys.add(definition.key)
        definitions.extend(added)
    if extra_files:
        version += "+extra"
    return Catalogue(definitions, processes, version)


def _read_json(path, name):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"{name}: cannot be read ({error.strerror}).") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{name}: not valid JSON ({error}).") from None


def _parse_attributes(document, name, builtin):
    if not isinstance(document, dict) or not isinstance(document.get("attributes"), list):
        raise ConfigurationError(f'{name}: expected an object with an "attributes" list.')
    if not isinstance(document.get("version"), (int, str)) or isinstance(document["version"], bool):
        raise ConfigurationError(f'{name}: expected a "version".')
    definitions = []
    seen = set()
    for index, entry in enumerate(document["attributes"], start=1):
        definition = _parse_attribute(entry, f"{name}: attribute #{index}", builtin)
        if definition.key in seen:
            raise ConfigurationError(f"{name}: attribute {definition.key!r} is defined twice.")
        seen.add(definition.key)
        definitions.append(definition)
    return definitions


def _parse_attribute(entry, where, builtin):
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where}: expected an object.")
    key = entry.get("key")
    if isinstance(key, str) and _IDENTIFIER.match(key):
        where = f"{where} ({key})"
    else:
        raise ConfigurationError(f"{where}: key must be lower-case letters, digits and _.")
    fields = set(entry)
    if fields != set(_ATTRIBUTE_FIELDS):
        missing = sorted(set(_ATTRIBUTE_FIELDS) - fields)
        unknown = sorted(fields - set(_ATTRIBUTE_FIELDS))
        detail = f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"
        raise ConfigurationError(f"{where}: {detail}.")
    if entry["type"] not in validators.VALIDATORS:
        raise ConfigurationError(f"{where}: unknown type {entry['type']!r}.")
    kinds = entry["kinds"]
    if not isinstance(kinds, list) or not kinds or not all(k in PARTY_KINDS for k in kinds):
        raise ConfigurationError(f"{where}: kinds must be a non-empty subset of {PARTY_KINDS}.")
    for flag in ("pivot", "certifiable"):
        if not isinstance(entry[flag], bool):
            raise ConfigurationError(f"{where}: {flag} must be true or false.")
    if entry["pivot"] and not builtin:
        raise ConfigurationError(f"{where}: a deployment cannot add to the identity pivot.")
    if entry["sensitivity"] not in SENSITIVITIES:
        raise ConfigurationError(f"{where}: sensitivity must be one of {SENSITIVITIES}.")
    if not isinstance(entry["label_fr"], str) or not entry["label_fr"].strip():
        raise ConfigurationError(f"{where}: label_fr must be a non-empty string.")
    return AttributeDefinition(
        key=key,
        type=entry["type"],
        kinds=frozenset(kinds),
        is_pivot=entry["pivot"],
        sensitivity=entry["sensitivity"],
        is_certifiable=entry["certifiable"],
        label=entry["label_fr"].strip(),
    )


def _parse_processes(document, name):
    if not isinstance(document, dict) or not isinstance(document.get("processes"), list):
        raise ConfigurationError(f'{name}: expected an object with a "processes" list.')
    processes = []
    for index, entry in enumerate(document["processes"], start=1):
        where = f"{name}: process #{index}"
        if not isinstance(entry, dict) or set(entry) != set(_PROCESS_FIELDS):
            raise ConfigurationError(f"{where}: expected exactly {', '.join(_PROCESS_FIELDS)}.")
        if not isinstance(entry["code"], str) or not _IDENTIFIER.match(entry["code"]):
            raise ConfigurationError(f"{where}: code must be lower-case letters, digits and _.")
        if entry["level"] not in LEVELS or isinstance(entry["level"], bool):
            raise ConfigurationError(f"{where} ({entry['code']}): level must be one of {LEVELS}.")
        if any(process.code == entry["code"] for process in processes):
            raise ConfigurationError(f"{where}: process {entry['code']!r} is defined twice.")
        processes.append(Process(code=entry["code"], level=entry["level"], label=entry["label_fr"]))
    return processes
