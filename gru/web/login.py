"""Signing agents in and out: a local account, or the OpenID Connect provider (never both).

OIDC: authorization code flow with PKCE (RFC 7636, S256), through authlib's Flask client,
which checks ``state``, the ID token's signature, issuer, audience, expiry and ``nonce``
(OpenID Connect Core 1.0 section 3.1.3.7). The agent is the one registered with the ID
token's ``sub``.
"""

import logging

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import abort, current_app, g, redirect, render_template, request, session, url_for

from gru.auth.agents import agent_by_oidc_subject, authenticate_local
from gru.errors import ConfigurationError
from gru.extensions import db
from gru.web.blueprint import ROLE_HOME, blp, message_page, start_session

logger = logging.getLogger(__name__)

OIDC_CLIENT = "gru_desk"
CALLBACK_PATH = "/auth/oidc/callback"


def register_oidc_client(app):
    """authlib's Flask client for the agents' provider, kept in ``app.extensions``."""
    missing = [name for name in ("GRU_OIDC_DISCOVERY_URL", "GRU_OIDC_CLIENT_ID") if not app.config[name]]
    if missing:
        raise ConfigurationError(f"GRU_AGENT_LOGIN=oidc needs {' and '.join(missing)}.")
    oauth = OAuth(app)
    oauth.register(
        OIDC_CLIENT,
        client_id=app.config["GRU_OIDC_CLIENT_ID"],
        client_secret=app.config["GRU_OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["GRU_OIDC_DISCOVERY_URL"],
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256", "timeout": 10},
    )
    app.extensions["gru.oidc"] = oauth


def _oidc_client():
    return current_app.extensions["gru.oidc"].create_client(OIDC_CLIENT)


def _login_method():
    return current_app.config["GRU_AGENT_LOGIN"]


@blp.get("/")
def home():
    if g.agent is None:
        return redirect(url_for("web.login", expiree=1 if g.session_expired else None))
    return redirect(url_for(ROLE_HOME[g.agent.role]))


@blp.get("/connexion")
def login():
    if g.agent is not None:
        return redirect(url_for(ROLE_HOME[g.agent.role]))
    notice = "Votre session a expiré après une période d'inactivité." if request.args.get("expiree") else None
    if _login_method() == "oidc":
        if notice and not request.args.get("continuer"):
            return render_template("login_oidc.html", notice=notice)
        redirect_uri = current_app.config["GRU_BASE_URL"].rstrip("/") + CALLBACK_PATH
        return _oidc_client().authorize_redirect(redirect_uri)
    return render_template("login.html", notice=notice)


@blp.post("/connexion")
def login_local():
    if _login_method() != "local":
        abort(404)
    agent = authenticate_local(request.form.get("identifiant", ""), request.form.get("mot_de_passe", ""))
    if agent is None:
        return render_template("login.html", error="Identifiant ou mot de passe incorrect."), 401
    db.session.commit()
    start_session(agent)
    return redirect(url_for(ROLE_HOME[agent.role]))


@blp.get(CALLBACK_PATH)
def oidc_callback():
    if _login_method() != "oidc":
        abort(404)
    try:
        token = _oidc_client().authorize_access_token()
    except AuthlibBaseError as error:
        logger.info("agent sign-in refused by the OIDC flow: %s", error.error)
        return message_page(
            400, "La connexion auprès du fournisseur d'identité n'a pas abouti. Recommencez.", detail=error.error,
            title="Connexion impossible",
        )
    subject = (token.get("userinfo") or {}).get("sub")
    agent = agent_by_oidc_subject(subject) if subject else None
    if agent is None:
        logger.info("agent sign-in refused: no active agent for this OIDC subject")
        session.clear()
        return message_page(
            403,
            "Votre compte est reconnu par le fournisseur d'identité, mais aucun agent actif du hub ne lui "
            "correspond. Demandez à un administrateur de vous enregistrer (gru agents create … --oidc-subject).",
            title="Accès refusé",
        )
    start_session(agent)
    return redirect(url_for(ROLE_HOME[agent.role]))


@blp.post("/deconnexion")
def logout():
    session.clear()
    g.agent = None
    return render_template("logged_out.html")
