"""The agents' form to record a consent given or withdrawn, the citizen present (in French).

Registered on the pages' blueprint (:mod:`gru.web`); the agent acts under the desk
contract (its ``consents`` rights), the statement is journaled as the API journals it,
and the page of the party is shown again with the outcome.
"""

from datetime import date

from flask import flash, redirect, request, url_for

from gru.consent import services as consent_service
from gru.consent.desk import desk_actor, french_error
from gru.consent.services import ConsentRequest
from gru.errors import Conflict, Forbidden, ValidationFailed
from gru.extensions import db
from gru.rest import access
from gru.web.blueprint import blp, requires
from gru.web.desk import open_desk, purpose_missing
from gru.web.views import render_party

DESK_ROLES = ("agent", "supervisor")
STATES = {"donne": "given", "retire": "withdrawn"}


def _submitted(form):
    raw_date = form.get("fin_validite", "").strip()
    try:
        valid_until = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        raise ValidationFailed({"valid_until": ["Une date au format AAAA-MM-JJ."]}) from None
    return ConsentRequest(purpose=form.get("traitement", ""), state=STATES.get(form.get("etat", ""), ""),
                          channel=form.get("canal", ""), text_version=form.get("version_texte", "").strip(),
                          valid_until=valid_until)


@blp.post("/parties/<uuid:party_id>/consentements")
@requires(*DESK_ROLES)
def record_consent(party_id):
    """The API's POST /parties/{id}/consents, from the party page's form."""
    contract = open_desk()
    if purpose_missing():
        return redirect(url_for("web.party", party_id=party_id))
    try:
        party, consent = consent_service.record_consent(party_id, _submitted(request.form), desk_actor())
    except (ValidationFailed, Conflict, Forbidden) as error:
        db.session.rollback()
        return render_party(contract, party_id, consent_error=french_error(error), status=error.status)
    verb = "give" if consent.state == "given" else "withdraw"
    access.journal(f"consent:consent:{verb}", [(party.id, consent_service.journal_keys([consent]))])
    db.session.commit()
    label = consent_service.purpose_labels().get(consent.purpose_code, consent.purpose_code)
    flash(f"Consentement {'donné' if consent.state == 'given' else 'retiré'} : {label}.", "consent")
    return redirect(url_for("web.party", party_id=party_id, _anchor="consentements"))
