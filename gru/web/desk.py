"""Agents act under the service contract of the front-desk application.

The pages build the same :class:`~gru.auth.bearer.Caller` an application's token gives the
API, with the desk contract, and then use :mod:`gru.rest.access` exactly as the API does:
the same attribute filtering, the same journal entries (``actor_type`` ``agent``).
"""

from flask import g, request, session

from gru.auth.bearer import Caller
from gru.auth.contracts import PurposeRequired, check_case_reference, resolve_purpose
from gru.errors import GruError
from gru.web.services import desk_contract

PURPOSE_FIELD = "finalite"
CASE_REF_FIELD = "dossier"


class DeskNotConfigured(GruError):
    code = "desk-not-configured"
    status = 503
    title = "Desk not configured"


def open_desk():
    """Set ``g.caller``, ``g.purpose`` and ``g.case_ref`` for the signed-in agent.

    The purpose is the desk contract's only one, or the one the agent chose (a select on
    the pages, remembered in the session); the case reference is optional.
    """
    code, contract = desk_contract()
    if contract is None:
        raise DeskNotConfigured(
            f"L'application d'accueil « {code} » ou son contrat de service manque. Un administrateur doit "
            f"lancer `gru apps create {code}` puis `gru contracts set {code} --file contrat.json` "
            f"(ou `--full-access --purpose accueil` pour un essai)."
        )
    agent = g.agent
    g.caller = Caller(
        type="agent",
        id=agent.login,
        client_id="",
        scopes=frozenset(),
        claims={},
        contract=contract,
        may_correct_below_level=agent.role == "supervisor",
    )
    if PURPOSE_FIELD in request.values:
        session[PURPOSE_FIELD] = request.values[PURPOSE_FIELD]
    if CASE_REF_FIELD in request.values:
        session[CASE_REF_FIELD] = request.values[CASE_REF_FIELD].strip() or None
    try:
        g.purpose = resolve_purpose(contract, session.get(PURPOSE_FIELD) or None)
    except PurposeRequired:
        g.purpose = None
    g.case_ref = check_case_reference(session.get(CASE_REF_FIELD))
    return contract


def purpose_missing():
    return g.get("purpose") is None

