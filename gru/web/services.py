"""What the pages read besides the identity services: the signed-in agent, the desk
application and its contract, the last journal entries, the applications' contracts."""

from flask import current_app
from sqlalchemy import select

from gru.audit.models import JournalEntry
from gru.auth.agents import get_agent
from gru.auth.contracts import contract_history, current_contract
from gru.auth.models import Application
from gru.auth.services import list_applications
from gru.extensions import db


def active_agent(login):
    agent = get_agent(login)
    return agent if agent is not None and agent.is_active else None


def desk_contract():
    """``(code, contract in force or None)`` of the application agents act under."""
    code = current_app.config["GRU_DESK_APPLICATION"]
    application = db.session.scalar(select(Application).where(Application.code == code))
    if application is None or not application.is_active:
        return code, None
    return code, current_contract(application)


def recent_journal_entries(limit=100):
    return list(db.session.scalars(select(JournalEntry).order_by(JournalEntry.seq.desc()).limit(limit)))


def applications_with_contracts():
    return [(application, contract_history(application.code)) for application in list_applications()]
