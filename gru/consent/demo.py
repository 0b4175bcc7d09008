"""Demo data of the consent package for ``gru demo``: three purposes of a city's register
and a consent of a demo person, so that the pages and the API show them.

Loaded once: purposes already in the register are left as they are, and the consent is
recorded only when the demo person has none. The caller commits.
"""

from sqlalchemy import select

from gru.consent.models import Consent, Purpose
from gru.consent.services import ConsentActor, ConsentRequest, declare_purpose, record_consent
from gru.extensions import db
from gru.identity.services.parties import list_parties

DEMO_ACTOR = ConsentActor(type="agent", id="demo")
PURPOSES = [
    {"code": "newsletter", "label": "Lettre d'information de la ville", "lawful_basis": "consent",
     "description": "Envoi par courriel de la lettre mensuelle de la ville aux habitants qui l'ont demandée.",
     "data_categories": ["identité", "courriel"], "recipients": ["service communication"], "retention_days": 1095},
    {"code": "sms_reminders", "label": "Rappels de rendez-vous par SMS", "lawful_basis": "consent",
     "data_categories": ["identité", "téléphone mobile"], "recipients": ["accueil", "état civil"],
     "retention_days": 365},
    {"code": "school_canteen", "label": "Restauration scolaire", "lawful_basis": "public_task",
     "data_categories": ["identité", "foyer", "quotient familial"], "recipients": ["service éducation"],
     "retention_text": "jusqu'à la fin de l'année scolaire, puis deux ans"},
]
#: the demo person (cross-reference of the identity demo) who subscribed to the newsletter
SUBSCRIBER = "demo:person-1"


def load_demo_consents():
    """Declare the demo purposes and record the demo consent, once; returns how many rows were added."""
    added = 0
    known = set(db.session.scalars(select(Purpose.code)))
    for document in PURPOSES:
        if document["code"] not in known:
            declare_purpose(document, author="demo")
            added += 1
    parties, _ = list_parties(xref=SUBSCRIBER, limit=1)
    if parties and db.session.scalar(select(Consent.pk).where(Consent.party_pk == parties[0].pk)) is None:
        record_consent(parties[0].id, ConsentRequest("newsletter", "given", "desk", "lettre-2026-01"), DEMO_ACTOR)
        added += 1
    return added
