"""The pages' blueprint: signed-in agent, idle timeout, CSRF, roles and French error pages.

OWASP ASVS V3 (session management): the session cookie is HttpOnly, SameSite=Lax and
Secure on HTTPS; a session ends after ``GRU_AGENT_SESSION_MINUTES`` without a request;
sign-in starts a new session. Every state-changing form carries a CSRF token (ASVS 4.2.2).
"""

import logging
import time
import uuid
from functools import wraps

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from gru.errors import Forbidden, GruError

logger = logging.getLogger(__name__)

blp = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/pages-static"
)

ROLE_HOME = {"agent": "web.search", "supervisor": "web.search", "dpo": "web.journal", "admin": "web.administration"}
ROLE_LABELS = {"agent": "agent d'accueil", "supervisor": "superviseur", "dpo": "DPO", "admin": "administrateur"}
TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Introuvable",
    409: "Conflit",
    412: "La fiche a changé entre-temps",
    422: "Données invalides",
    428: "Version de la fiche manquante",
    500: "Erreur du hub",
    503: "Accueil non configuré",
}


def start_session(agent):
    """A new session for ``agent``: nothing of the previous one survives (session fixation)."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the session's token for the request
    session["agent"] = agent.login
    session["seen_at"] = time.time()
    session["sid"] = uuid.uuid4().hex


@blp.before_request
def load_agent():
    g.request_id = uuid.uuid4().hex
    g.agent = None
    g.session_expired = False
    login = session.get("agent")
    if login:
        idle = time.time() - session.get("seen_at", 0)
        if idle > current_app.config["GRU_AGENT_SESSION_MINUTES"] * 60:
            session.clear()
            g.session_expired = True
        else:
            from gru.web.services import active_agent

            g.agent = active_agent(login)
            if g.agent is None:
                session.clear()
            else:
                session["seen_at"] = time.time()


@blp.before_request
def protect_forms():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        from gru.extensions import csrf

        csrf.protect()


@blp.after_request
def page_headers(response):
    """Pages show personal data: not cached, not framed, no scripts from elsewhere."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'"
    )
    return response


@blp.app_context_processor
def page_context():
    return {"agent": g.get("agent"), "role_labels": ROLE_LABELS}


def requires(*roles):
    """The view needs a signed-in agent with one of ``roles``; 403 page otherwise."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.agent is None:
                return redirect(url_for("web.login", expiree=1 if g.session_expired else None))
            if g.agent.role not in roles:
                raise Forbidden(f"Votre rôle ({ROLE_LABELS[g.agent.role]}) ne donne pas accès à cette page.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def message_page(status, message, detail=None, title=None):
    return render_template(
        "message.html", title=title or TITLES.get(status, "Erreur"), message=message, detail=detail
    ), status


@blp.errorhandler(CSRFError)
def csrf_refused(error):
    return message_page(
        400,
        "Le formulaire a expiré ou ne vient pas de cette page (protection contre la falsification de requêtes). "
        "Rechargez la page et recommencez.",
        title="Formulaire refusé",
    )


@blp.errorhandler(GruError)
def domain_error(error):
    if error.status >= 500:
        logger.error("page %s: %s", request.path, error.detail)
    message = error.detail if error.status in (403, 503) else "La demande n'a pas pu aboutir."
    detail = None if error.status in (403, 503) else error.detail
    if error.status == 404:
        message = "Cette fiche ou cette page n'existe pas."
    elif error.status == 412:
        message = "La fiche a changé entre-temps : relisez-la puis recommencez la modification."
    return message_page(error.status, message, detail)


@blp.errorhandler(HTTPException)
def http_error(error):
    return message_page(error.code or 500, error.description or "Erreur.")


@blp.errorhandler(Exception)
def unexpected_error(error):
    logger.exception("unexpected error on page %s %s", request.method, request.path)
    return message_page(500, "Le hub n'a pas pu traiter la demande. L'incident est consigné dans ses journaux.")
