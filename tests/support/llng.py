"""A throw-away LemonLDAP::NG OpenID Connect provider for tests.

Runs the LemonLDAP::NG (LLNG) portal from Debian's packages with ``plackup``
(Plack's own single-process HTTP::Server::PSGI, no nginx, no FastCGI) on
127.0.0.1, configured entirely inside a work directory:

- ``lemonldap-ng.ini``: the local configuration, named to LLNG through the
  ``LLNG_DEFAULTCONFFILE`` environment variable;
- ``conf/lmConf-1.json``: the global configuration (File backend);
- ``keys/``: an RSA key generated for each run (nothing secret is committed);
- ``sessions/``, ``psessions/``, ``cache/``, ``notifications/``: storage;
- ``portal.log``: LLNG's and plackup's output.

Two relying parties are declared:

- ``gru-tests`` (confidential): client_credentials grant, access tokens are
  RS256 JWTs signed with the provider key;
- ``gru-desk`` (confidential): authorization code flow with PKCE required,
  redirect URI given to the constructor; users come from LLNG's ``Demo``
  backend (dwho/dwho, rtyler/rtyler, msmith/msmith).

The module depends only on the standard library, ``requests`` and
``cryptography``; it does not import the gru package.
"""

from __future__ import annotations

import functools
import html.parser
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

import requests

__all__ = ["LemonLDAP", "LemonLDAPError", "llng_available", "PSGI_APP"]

PSGI_APP = pathlib.Path("/usr/share/lemonldap-ng/portal/htdocs/index.psgi")
TEMPLATE_DIR = pathlib.Path("/usr/share/lemonldap-ng/portal/templates")
INSTALL_HINT = "LemonLDAP::NG is not installed: run scripts/install-llng.sh"

CC_CLIENT_ID = "gru-tests"
DESK_CLIENT_ID = "gru-desk"


class LemonLDAPError(RuntimeError):
    """The portal could not be started or did not answer as expected."""


@functools.lru_cache(maxsize=None)
def llng_available() -> tuple[bool, str]:
    """Tell whether the LLNG portal can be run here, and if not, why.

    Cached for the life of the process (it runs perl once).
    """
    if shutil.which("plackup") is None or not PSGI_APP.is_file() or not TEMPLATE_DIR.is_dir():
        return False, INSTALL_HINT
    if shutil.which("perl") is None:
        return False, INSTALL_HINT
    try:
        probe = subprocess.run(
            [
                "perl",
                "-MLemonldap::NG::Portal::Main",
                "-MLemonldap::NG::Portal::Issuer::OpenIDConnect",
                # loaded by every portal start: needs GD::SecurityImage + Image::Magick
                "-MLemonldap::NG::Portal::Captcha::SecurityImage",
                "-e1",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:  # pragma: no cover - odd machines
        return False, f"{INSTALL_HINT} ({exc})"
    if probe.returncode != 0:
        first = (probe.stderr.strip().splitlines() or ["perl failed"])[0]
        return False, f"{INSTALL_HINT} ({first})"
    return True, ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _new_rsa_key() -> tuple[str, str]:
    """A fresh 2048-bit RSA key: (PKCS#1 private PEM, SubjectPublicKeyInfo PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        # Crypt::OpenSSL::RSA->new_private_key reads "BEGIN RSA PRIVATE KEY".
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


class _FormParser(html.parser.HTMLParser):
    """Collects the forms of a page: action, method and input name/values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._current = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": {}}
            self.forms.append(self._current)
        elif tag in ("input", "button", "select", "textarea") and self._current is not None:
            name = a.get("name")
            if not name:
                return
            if tag == "input" and a.get("type", "text").lower() in ("checkbox", "radio") and "checked" not in a:
                return
            if tag == "button":
                return
            self._current["fields"].setdefault(name, a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


class LemonLDAP:
    """A LemonLDAP::NG portal acting as OpenID Connect provider, for tests.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        workdir: pathlib.Path,
        port: int | None = None,
        desk_redirect_uri: str = "http://127.0.0.1:5000/auth/oidc/callback",
        log_level: str = "notice",
        extra_clients: dict[str, str] | None = None,
        additional_audiences: tuple[str, ...] = (),
    ) -> None:
        self.workdir = pathlib.Path(workdir).resolve()
        self._requested_port = port
        self.port: int | None = port
        self.desk_redirect_uri = desk_redirect_uri
        self.log_level = log_level
        self.cc_client_id = CC_CLIENT_ID
        self.cc_client_secret = secrets.token_urlsafe(24)
        self.desk_client_id = DESK_CLIENT_ID
        self.desk_client_secret = secrets.token_urlsafe(24)
        # more client-credentials RPs (client_id -> secret), configured like
        # gru-tests, for tests that need several business applications
        self.extra_clients = dict(extra_clients or {})
        # LLNG sets aud = [client_id]; these are appended for the
        # client-credentials RPs (oidcRPMetaDataOptionsAdditionalAudiences),
        # e.g. ("gru-hub",) so that the hub can require its own audience
        self.additional_audiences = tuple(additional_audiences)
        self.key_id = "gru-tests-" + secrets.token_hex(4)
        self.public_key_pem = ""
        self.log_path = self.workdir / "portal.log"
        self.ini_path = self.workdir / "lemonldap-ng.ini"
        self.conf_dir = self.workdir / "conf"
        self._proc: subprocess.Popen | None = None
        self._log_file = None
        self._log_offset = 0
        self.discovery: dict = {}
        self._set_urls()

    # -- URLs -------------------------------------------------------------

    def _set_urls(self) -> None:
        base = f"http://127.0.0.1:{self.port}" if self.port else "http://127.0.0.1:0"
        # LLNG uses its "portal" URL (here equal to oidcServiceMetaDataIssuer)
        # verbatim as issuer, trailing slash included.
        self.base_url = base
        self.issuer = base + "/"
        self.discovery_url = base + "/.well-known/openid-configuration"
        self.jwks_uri = base + "/oauth2/jwks"
        self.token_endpoint = base + "/oauth2/token"
        self.authorization_endpoint = base + "/oauth2/authorize"
        self.userinfo_endpoint = base + "/oauth2/userinfo"
        self.introspection_endpoint = base + "/oauth2/introspect"

    # -- configuration ----------------------------------------------------

    def _dirs(self) -> dict[str, pathlib.Path]:
        d = {
            "conf": self.conf_dir,
            "keys": self.workdir / "keys",
            "sessions": self.workdir / "sessions",
            "sessions_lock": self.workdir / "sessions" / "lock",
            "psessions": self.workdir / "psessions",
            "psessions_lock": self.workdir / "psessions" / "lock",
            "cache": self.workdir / "cache",
            "notifications": self.workdir / "notifications",
        }
        for p in d.values():
            p.mkdir(parents=True, exist_ok=True)
        return d

    def _ini(self) -> str:
        return (
            "; generated by tests/support/llng.py\n"
            "[all]\n"
            f"logLevel = {self.log_level}\n"
            "logger = Lemonldap::NG::Common::Logger::Std\n"
            "userLogger = Lemonldap::NG::Common::Logger::Std\n"
            "checkTime = 600\n"
            "\n"
            "[configuration]\n"
            "type = File\n"
            f"dirName = {self.conf_dir}\n"
            "prettyPrint = 1\n"
            "\n"
            "[portal]\n"
            "staticPrefix = /static\n"
            f"templateDir = {TEMPLATE_DIR}\n"
            "languages = en\n"
        )

    def _lmconf(self, d: dict[str, pathlib.Path], private_pem: str, public_pem: str) -> dict:
        portal = self.issuer
        rp_common = {
            "oidcRPMetaDataOptionsPublic": 0,
            "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
            "oidcRPMetaDataOptionsAccessTokenSignAlg": "RS256",
            "oidcRPMetaDataOptionsAccessTokenJWT": 1,
            "oidcRPMetaDataOptionsBypassConsent": 1,
            "oidcRPMetaDataOptionsIDTokenExpiration": 3600,
            "oidcRPMetaDataOptionsAccessTokenExpiration": 3600,
            "oidcRPMetaDataOptionsRefreshToken": 0,
            "oidcRPMetaDataOptionsAllowOffline": 0,
            "oidcRPMetaDataOptionsLogoutBypassConfirm": 1,
        }
        user_claims = {
            # claim name -> session attribute (Demo backend exports uid, cn, mail)
            "preferred_username": "uid",
            "name": "cn",
            "email": "mail",
        }
        conf = {
            "cfgNum": 1,
            "cfgAuthor": "tests/support/llng.py",
            "cfgDate": str(int(time.time())),
            "cfgVersion": "2.16.1",
            "portal": portal,
            "domain": "127.0.0.1",
            "cookieName": "lemonldap",
            "securedCookie": 0,
            "httpOnly": 1,
            "timeout": 72000,
            "authentication": "Demo",
            "userDB": "Same",
            "passwordDB": "Demo",
            "registerDB": "Null",
            "demoExportedVars": {"uid": "uid", "cn": "cn", "mail": "mail"},
            "exportedVars": {},
            "macros": {},
            "groups": {},
            "whatToTrace": "uid",
            "locationRules": {"127.0.0.1": {"default": "accept"}},
            "exportedHeaders": {},
            "applicationList": {},
            "trustedDomains": "127.0.0.1",
            "loginHistoryEnabled": 0,
            "notification": 0,
            "notificationStorage": "File",
            "notificationStorageOptions": {"dirName": str(d["notifications"])},
            "globalStorage": "Apache::Session::File",
            "globalStorageOptions": {
                "Directory": str(d["sessions"]),
                "LockDirectory": str(d["sessions_lock"]),
                "generateModule": "Lemonldap::NG::Common::Apache::Session::Generate::SHA256",
            },
            "persistentStorage": "Apache::Session::File",
            "persistentStorageOptions": {
                "Directory": str(d["psessions"]),
                "LockDirectory": str(d["psessions_lock"]),
            },
            "localSessionStorage": "Cache::FileCache",
            "localSessionStorageOptions": {
                "cache_depth": 3,
                "cache_root": str(d["cache"]),
                "default_expires_in": 600,
                "directory_umask": "007",
                "namespace": "lemonldap-ng-sessions",
            },
            "portalSkin": "bootstrap",
            "portalDisplayAppslist": 0,
            "issuerDBOpenIDConnectActivation": 1,
            "issuerDBOpenIDConnectPath": "^/oauth2/",
            "issuerDBOpenIDConnectRule": 1,
            "oidcServiceMetaDataIssuer": portal,
            "oidcServicePrivateKeySig": private_pem,
            "oidcServicePublicKeySig": public_pem,
            "oidcServiceKeyIdSig": self.key_id,
            "oidcServiceAllowAuthorizationCodeFlow": 1,
            "oidcServiceAllowImplicitFlow": 0,
            "oidcServiceAllowHybridFlow": 0,
            "oidcServiceAllowDynamicRegistration": 0,
            "oidcRPMetaDataOptions": {
                CC_CLIENT_ID: {
                    **rp_common,
                    "oidcRPMetaDataOptionsDisplayName": "gru test suite (client credentials)",
                    "oidcRPMetaDataOptionsClientID": self.cc_client_id,
                    "oidcRPMetaDataOptionsClientSecret": self.cc_client_secret,
                    "oidcRPMetaDataOptionsAllowClientCredentialsGrant": 1,
                    "oidcRPMetaDataOptionsAdditionalAudiences": " ".join(self.additional_audiences),
                    "oidcRPMetaDataOptionsRedirectUris": "",
                },
                DESK_CLIENT_ID: {
                    **rp_common,
                    "oidcRPMetaDataOptionsDisplayName": "gru front desk",
                    "oidcRPMetaDataOptionsClientID": self.desk_client_id,
                    "oidcRPMetaDataOptionsClientSecret": self.desk_client_secret,
                    "oidcRPMetaDataOptionsRedirectUris": self.desk_redirect_uri,
                    "oidcRPMetaDataOptionsRequirePKCE": 1,
                    # put name/email/preferred_username in the ID token too,
                    # not only in the userinfo answer
                    "oidcRPMetaDataOptionsIDTokenForceClaims": 1,
                },
            },
            "oidcRPMetaDataExportedVars": {
                CC_CLIENT_ID: dict(user_claims),
                DESK_CLIENT_ID: dict(user_claims),
            },
        }
        for client_id, secret in self.extra_clients.items():
            conf["oidcRPMetaDataOptions"][client_id] = {
                **conf["oidcRPMetaDataOptions"][CC_CLIENT_ID],
                "oidcRPMetaDataOptionsDisplayName": client_id,
                "oidcRPMetaDataOptionsClientID": client_id,
                "oidcRPMetaDataOptionsClientSecret": secret,
            }
            conf["oidcRPMetaDataExportedVars"][client_id] = dict(user_claims)
        return conf

    def write_config(self) -> None:
        """Write INI, lmConf-1.json and a fresh key into the work directory."""
        d = self._dirs()
        private_pem, public_pem = _new_rsa_key()
        self.public_key_pem = public_pem
        key_file = d["keys"] / "oidc-sig.key"
        key_file.write_text(private_pem)
        key_file.chmod(0o600)
        (d["keys"] / "oidc-sig.pub").write_text(public_pem)
        self.ini_path.write_text(self._ini())
        conf_file = self.conf_dir / "lmConf-1.json"
        conf_file.write_text(json.dumps(self._lmconf(d, private_pem, public_pem), indent=2, sort_keys=True))
        conf_file.chmod(0o600)

    # -- process ----------------------------------------------------------

    def log_tail(self, lines: int = 40, since: int = 0) -> str:
        """The last ``lines`` distinct lines of the portal log.

        A portal whose initialisation failed logs the same two lines for every
        request; repeated lines (timestamps and pids aside) are shown once, so
        that the root cause, logged first, stays in view.
        """
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        seen: set[str] = set()
        distinct: list[str] = []
        for line in text.splitlines():
            key = re.sub(r"^\[[^\]]*\] \[LLNG:\d+\] ", "", line)
            if key in seen:
                continue
            seen.add(key)
            distinct.append(line)
        return "\n".join(distinct[-lines:])

    def start(self, timeout: float = 30) -> "LemonLDAP":
        if self._proc is not None:
            raise LemonLDAPError("LemonLDAP::NG is already started")
        ok, reason = llng_available()
        if not ok:
            raise LemonLDAPError(reason)
        self.workdir.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._requested_port else 3
        for attempt in range(attempts):
            self.port = self._requested_port or _free_port()
            self._set_urls()
            self.write_config()
            self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                self._spawn_and_wait(timeout)
                return self
            except LemonLDAPError:
                address_in_use = "Address already in use" in self.log_tail(200, since=self._log_offset)
                self.stop()
                if address_in_use and attempt + 1 < attempts:
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _spawn_and_wait(self, timeout: float) -> None:
        env = dict(os.environ)
        env["LLNG_DEFAULTCONFFILE"] = str(self.ini_path)
        env.pop("PERL5OPT", None)
        cmd = [
            "plackup",
            "-s", "HTTP::Server::PSGI",
            "-E", "deployment",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            str(PSGI_APP),
        ]
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        self._log_file.flush()
        self._proc = subprocess.Popen(
            cmd,
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        server_errors = 0
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise LemonLDAPError(
                    f"LemonLDAP::NG portal exited with status {self._proc.returncode} "
                    f"before answering on {self.discovery_url}; log {self.log_path}:\n{self.log_tail(since=self._log_offset)}"
                )
            try:
                r = requests.get(self.discovery_url, timeout=3)
                if r.status_code == 200 and r.headers.get("content-type", "").startswith("application/json"):
                    self.discovery = r.json()
                    self._check_discovery()
                    return
                last_error = f"HTTP {r.status_code}: {r.text[:200]!r}"
                # LLNG answers 500 for every request once its initialisation
                # failed (missing Perl module, bad configuration): no use waiting
                server_errors = server_errors + 1 if r.status_code >= 500 else 0
                if server_errors >= 5:
                    break
            except requests.RequestException as exc:
                last_error = str(exc)
            time.sleep(0.2)
        raise LemonLDAPError(
            f"LemonLDAP::NG portal did not answer on {self.discovery_url} "
            f"{'(initialisation failed)' if server_errors >= 5 else f'within {timeout}s'} "
            f"(last: {last_error}); log {self.log_path}:\n{self.log_tail(since=self._log_offset)}"
        )

    def _check_discovery(self) -> None:
        d = self.discovery
        expected = {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "token_endpoint": self.token_endpoint,
            "authorization_endpoint": self.authorization_endpoint,
        }
        wrong = {k: d.get(k) for k, v in expected.items() if d.get(k) != v}
        if wrong:
            raise LemonLDAPError(f"unexpected discovery document values {wrong}, expected {expected}")
        self.userinfo_endpoint = d.get("userinfo_endpoint", self.userinfo_endpoint)
        self.introspection_endpoint = d.get("introspection_endpoint", self.introspection_endpoint)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                pgid = os.getpgid(proc.pid)
            except ProcessLookupError:
                pgid = None
            if pgid is not None and pgid == proc.pid:
                for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                    try:
                        os.killpg(pgid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        proc.wait(timeout=wait)
                        # the leader is gone; make sure no child of it stays
                        try:
                            os.killpg(pgid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                        break
                    except subprocess.TimeoutExpired:
                        continue
            else:  # pragma: no cover - start_new_session makes the child a leader
                proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> "LemonLDAP":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers for tests -------------------------------------------------

    def client_credentials_token(self, scope: str = "openid", client_id: str | None = None) -> str:
        """Obtain an access token (a signed JWT) for ``gru-tests``.

        ``client_id`` may name one of ``extra_clients`` instead. LLNG grants
        any requested scope (no ``oidcServiceAllowOnlyDeclaredScopes``), so
        ``scope="openid gru:read"`` comes back in the token's ``scope`` claim.
        """
        if client_id is None or client_id == self.cc_client_id:
            auth = (self.cc_client_id, self.cc_client_secret)
        else:
            auth = (client_id, self.extra_clients[client_id])
        r = requests.post(
            self.token_endpoint,
            data={"grant_type": "client_credentials", "scope": scope},
            auth=auth,
            timeout=10,
        )
        if r.status_code != 200:
            raise LemonLDAPError(f"client_credentials failed: HTTP {r.status_code} {r.text[:300]!r}\n{self.log_tail()}")
        return r.json()["access_token"]

    def login(
        self,
        session: requests.Session,
        authorize_url: str,
        user: str = "dwho",
        password: str = "dwho",
        max_steps: int = 10,
    ) -> str:
        """Walk an authorization request through the portal's login form.

        Returns the URL the portal finally redirects the browser to (outside the
        portal, e.g. the relying party's redirect URI with ``code`` and
        ``state``). The redirect target itself is not fetched.
        """
        portal = urllib.parse.urlsplit(self.base_url)

        def outside(url: str) -> bool:
            u = urllib.parse.urlsplit(url)
            return (u.scheme, u.netloc) != (portal.scheme, portal.netloc)

        url, method, data = authorize_url, "get", None
        submitted = False
        for _ in range(max_steps):
            if method == "post":
                r = session.post(url, data=data, allow_redirects=False, timeout=10)
            else:
                r = session.get(url, allow_redirects=False, timeout=10)
            if r.is_redirect or r.status_code in (301, 302, 303, 307, 308):
                target = urllib.parse.urljoin(r.url, r.headers["Location"])
                if outside(target):
                    return target
                url, method, data = target, "get", None
                continue
            if r.status_code not in (200, 401):
                raise LemonLDAPError(f"portal answered HTTP {r.status_code} at {r.url}: {r.text[:300]!r}")
            parser = _FormParser()
            parser.feed(r.text)
            forms = [f for f in parser.forms if "password" in f["fields"] and "user" in f["fields"]]
            if not forms:
                # An auto-submitted form (e.g. form_post response mode) or an error page.
                auto = [f for f in parser.forms if f["action"] and outside(urllib.parse.urljoin(r.url, f["action"]))]
                if auto:
                    return urllib.parse.urljoin(r.url, auto[0]["action"])
                raise LemonLDAPError(f"no login form at {r.url} (HTTP {r.status_code}): {r.text[:500]!r}")
            if submitted:
                raise LemonLDAPError(f"login as {user!r} refused, the form came back at {r.url}")
            form = forms[0]
            fields = dict(form["fields"])
            fields["user"] = user
            fields["password"] = password
            url = urllib.parse.urljoin(r.url, form["action"] or r.url)
            if url.endswith("#"):
                url = url[:-1]
            method, data, submitted = form["method"], fields, True
        raise LemonLDAPError(f"no redirect out of the portal after {max_steps} steps")
