"""Server-rendered pages for agents, the DPO and administrators (in French).

:func:`init_app` wires them into the hub: session cookie settings, CSRF protection of every
form of the pages, the OpenID Connect client when agents sign in through a provider, and the
blueprint. The REST API (``/api``) and the token endpoint (``/oauth``) authenticate with
bearer tokens, not cookies, and are outside CSRF protection.
"""

from datetime import timedelta

from gru.errors import ConfigurationError

LOGIN_METHODS = ("local", "oidc")


def init_app(app):
    from gru.extensions import csrf
    from gru.consent import views as consent_views  # noqa: F401  (routes: the consent form)
    from gru.documents import views as document_views  # noqa: F401  (routes: the documents page)
    from gru.web import duplicates, login, views  # noqa: F401  (routes)
    from gru.web.blueprint import blp

    method = app.config["GRU_AGENT_LOGIN"]
    if method not in LOGIN_METHODS:
        raise ConfigurationError(f"GRU_AGENT_LOGIN must be one of {', '.join(LOGIN_METHODS)}, not {method!r}.")
    app.config.update(
        SESSION_COOKIE_NAME="gru_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["GRU_SESSION_COOKIE_SECURE"],
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=app.config["GRU_AGENT_SESSION_MINUTES"]),
        # Forms are checked by the pages' blueprint itself (blueprint.protect_forms), so
        # that no bearer-token endpoint, present or future, is refused for want of a cookie.
        WTF_CSRF_CHECK_DEFAULT=False,
        # The token lives as long as the session, which the idle timeout ends.
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)
    if method == "oidc":
        login.register_oidc_client(app)
    app.register_blueprint(blp)
