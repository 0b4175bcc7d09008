"""The record form of the pages: which attributes an agent may edit, what was changed, and
the per-attribute outcomes of a write in French."""

from flask import g

from gru.identity.catalogue import CHANNELS
from gru.identity.services.context import catalogue

OUTCOME_LABELS = {
    "updated": "mis à jour",
    "unchanged": "inchangé",
    "kept_lower_level": "conservé en historique (niveau inférieur)",
    "forbidden": "refusé",
    "invalid": "invalide",
}
CHANNEL_LABELS = {
    "desk": "Accueil (guichet)",
    "phone": "Téléphone",
    "post": "Courrier",
    "email": "Courriel",
    "online": "En ligne",
    "application": "Application",
    "import": "Import",
}
ADDRESS_FIELDS = ("adresse_lignes", "adresse_code_postal", "adresse_commune", "adresse_pays")


def labels():
    return {definition.key: definition.label for definition in catalogue()}


def process_labels():
    return {process.code: process.label for process in catalogue().processes}


def choices():
    return {
        "channels": [(code, CHANNEL_LABELS.get(code, code)) for code in CHANNELS],
        "processes": [(process.code, f"{process.label} ({process.level})") for process in catalogue().processes
                      if process.level <= g.caller.contract.max_level],
    }


def _address_parts(value):
    value = value or {}
    return {
        "adresse_lignes": "\n".join(value.get("lines", [])),
        "adresse_code_postal": value.get("postal_code", ""),
        "adresse_commune": value.get("commune_name", ""),
        "adresse_pays": value.get("country", ""),
    }


def editable_fields(kind, contract, current):
    """The attributes of ``kind`` the desk contract lets agents write, with their shown value."""
    fields = []
    for definition in catalogue():
        if kind not in definition.kinds or not contract.may_write(definition.key):
            continue
        value = current.get(definition.key)
        field = {"key": definition.key, "label": definition.label, "type": definition.type}
        if definition.type == "postal_address":
            field["parts"] = _address_parts(value)
        else:
            field["value"] = "" if value is None else str(value)
        fields.append(field)
    return fields


def _submitted_address(form):
    lines = [line.strip() for line in form.get("adresse_lignes", "").splitlines() if line.strip()]
    parts = {
        "adresse_lignes": "\n".join(lines),
        "adresse_code_postal": form.get("adresse_code_postal", "").strip(),
        "adresse_commune": form.get("adresse_commune", "").strip(),
        "adresse_pays": form.get("adresse_pays", "").strip().upper(),
    }
    address = {"lines": lines}
    for name, key in (("adresse_code_postal", "postal_code"), ("adresse_commune", "commune_name"),
                      ("adresse_pays", "country")):
        if parts[name]:
            address[key] = parts[name]
    return parts, address if any(parts.values()) else None


def submitted_attributes(fields, form):
    """Only what the agent changed: ``{key: raw value}``; an emptied field clears the attribute."""
    attributes = {}
    for field in fields:
        if "parts" in field:
            parts, address = _submitted_address(form)
            if parts != field["parts"]:
                attributes[field["key"]] = address
            continue
        name = f"attr_{field['key']}"
        if name not in form:
            continue
        value = form[name].strip()
        if value != field["value"]:
            attributes[field["key"]] = value or None
    return attributes


def _french_reason(key, status, reason, document):
    """Reasons the pages can say in French; a validator's own reason is shown as it is."""
    if status == "kept_lower_level":
        level = document["provenance"].get(key, {}).get("level")
        return f"la valeur en place est certifiée au niveau {level}" if level else None
    if status == "forbidden":
        if reason and "level" in reason:
            return "le contrat de l'accueil ne permet pas ce niveau de certification"
        return "le contrat de l'accueil ne permet pas de modifier cette donnée"
    return reason


def _outcome_rows(outcomes, document):
    """``outcomes``: ``{key: {"status", "reason"?}}``, as :meth:`AttributeOutcome.as_dict` gives."""
    names = labels()
    return [
        {"key": key, "label": names.get(key, key), "status": item["status"],
         "text": OUTCOME_LABELS.get(item["status"], item["status"]),
         "reason": _french_reason(key, item["status"], item.get("reason"), document)}
        for key, item in outcomes.items()
    ]


def french_outcomes(outcomes, document):
    return _outcome_rows({key: outcome.as_dict() for key, outcome in outcomes.items()}, document)


def outcomes_of_failure(error):
    """Per-attribute outcomes carried by a refused write (nothing was stored)."""
    return _outcome_rows(error.extra.get("attributes") or {}, {"provenance": {}})


def first_error(error):
    errors = getattr(error, "errors", None) or {}
    for field, messages in errors.items():
        return f"{field} : {' '.join(map(str, messages))}"
    return error.detail
