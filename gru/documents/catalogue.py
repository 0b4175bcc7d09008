"""The catalogue of document types: what each proves and how long it is kept.

Loaded from ``gru/documents/data/document_types.json``; ``GRU_DOCUMENTS_RETENTION_DAYS``
overrides retention per type (GDPR art. 5(1)(e), storage limitation: a document is kept no
longer than needed for the purposes it was collected for).
"""

import json
from dataclasses import dataclass
from importlib import resources

from gru.errors import ConfigurationError


@dataclass(frozen=True)
class DocumentType:
    code: str
    label_fr: str
    kinds: tuple
    retention_days: int
    #: attribute keys whose golden values a verified document of this type certifies
    certifies: tuple


def load_document_types(retention_overrides=None):
    """{code: DocumentType}, with the retention overrides applied (days, positive)."""
    raw = json.loads(resources.files("gru.documents").joinpath("data/document_types.json").read_text("utf-8"))
    types = {}
    for entry in raw["document_types"]:
        types[entry["code"]] = DocumentType(
            entry["code"], entry["label_fr"], tuple(entry["kinds"]), int(entry["retention_days"]),
            tuple(entry["certifies"]),
        )
    for code, days in (retention_overrides or {}).items():
        if code not in types:
            raise ConfigurationError(f"GRU_DOCUMENTS_RETENTION_DAYS: unknown document type {code!r}")
        if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
            raise ConfigurationError(f"GRU_DOCUMENTS_RETENTION_DAYS: {code} must be a positive number of days")
        current = types[code]
        types[code] = DocumentType(current.code, current.label_fr, current.kinds, days, current.certifies)
    return types
