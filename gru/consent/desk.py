"""The consents of a party as the desk pages show them, under the desk contract.

Used by the party page (:func:`gru.web.views.party`) and the consent form
(:mod:`gru.consent.views`); what is shown is journaled by the caller, as the API does.
"""

from flask import g

from gru.consent import services as consent_service
from gru.consent.services import ConsentActor
from gru.errors import Forbidden, ValidationFailed

STATE_LABELS = {"given": "donné", "withdrawn": "retiré"}
FIELD_LABELS = {"purpose": "traitement", "state": "état", "channel": "canal", "text_version": "version du texte",
                "valid_until": "fin de validité", "party": "fiche"}


def desk_actor():
    """The signed-in agent, with the consent rights of the desk contract."""
    contract = g.caller.contract
    return ConsentActor(type="agent", id=g.caller.id, may_read=contract.may_read_consents(),
                        may_write=contract.may_write_consents(), party_kinds=tuple(contract.party_kinds))


def party_consents(party):
    """``(section, disclosures)``: what the party page shows of the party's consents (None
    when the desk contract does not read consents) and its journal entries."""
    actor = desk_actor()
    if not actor.may_read:
        return None, []
    _, consents = consent_service.current_consents(party.id, actor)
    labels = consent_service.purpose_labels()
    purposes = [purpose for purpose in consent_service.list_purposes() if purpose.lawful_basis == "consent"]
    section = {
        "items": [{"consent": consent, "label": labels.get(consent.purpose_code, consent.purpose_code),
                   "state": STATE_LABELS[consent.state], "is_in_force": consent_service.is_in_force(consent)}
                  for consent in consents],
        "purposes": purposes if actor.may_write and party.status == "active" else [],
    }
    return section, [("consent:consent:list", party.id, consent_service.journal_keys(consents))]


def french_error(error):
    """A refused statement, said in French for the agent."""
    if isinstance(error, consent_service.ConsentNotGiven):
        return "Aucun consentement n'est donné pour ce traitement : il n'y a rien à retirer."
    if isinstance(error, consent_service.PurposeNotConsentBased):
        return ("Ce traitement ne repose pas sur le consentement (sa base légale est autre) : "
                "aucun consentement ne s'enregistre pour lui.")
    if isinstance(error, Forbidden):
        return "Le contrat de l'application d'accueil ne permet pas d'enregistrer des consentements pour cette fiche."
    if isinstance(error, ValidationFailed) and error.errors:
        return " ; ".join(f"{FIELD_LABELS.get(field, field)} : {' '.join(map(str, messages))}"
                          for field, messages in error.errors.items())
    return error.detail
