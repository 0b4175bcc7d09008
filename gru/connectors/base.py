"""What a connector type is: a class with a configuration schema and a ``deliver`` method.

A connector type (STYLE.md habit 5, Passerelle's model) is a subclass of
:class:`Connector` registered under the ``gru.connectors`` entry-point group. The hub
builds one object per configured instance, from the instance's decrypted configuration,
and calls :meth:`Connector.deliver` with one :class:`Message` at a time, from a worker
thread: a connector never touches the database; what it learns that the hub must record
(the application's own id for the party) it returns in its :class:`Outcome`.

Outbound HTTP (STYLE.md habit 6): :meth:`Connector.http` sends with the instance's
timeout and turns the answer into an outcome: 2xx delivered; network errors, timeouts,
5xx and 429 (with ``Retry-After``, RFC 9110 section 10.2.3) retried by the dispatcher with
backoff; any other 4xx failed at once. Error texts name the status and the URL's host,
never a token or a secret.
"""

import email.utils
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone

import marshmallow as ma
import requests

DELIVERED = "delivered"
RETRY = "retry"
FAILED = "failed"
SKIPPED = "skipped"

#: longest error text kept on a delivery
MAX_ERROR_LENGTH = 500


@dataclass
class Message:
    """One event for one instance, its payload built for the receiving application."""

    event_id: str
    type: str
    party_id: str
    party_kind: str
    sequence: int
    occurred_at: datetime
    #: the event's payload as the application's contract lets it see it (see
    #: :func:`gru.connectors.payloads.build_payload`)
    payload: dict
    #: the application's own id for the party (its cross-reference), or None
    local_id: str | None = None
    #: the delivery's attempt number, from 1
    attempt: int = 1


@dataclass
class Outcome:
    status: str
    #: what to keep of the receiver's answer (status code, ids): never personal data
    receipt: dict = field(default_factory=dict)
    error: str | None = None
    status_code: int | None = None
    #: seconds the receiver asked to wait (429/503 ``Retry-After``)
    retry_after: float | None = None
    #: the application's id for the party learnt by this delivery (recorded as its
    #: cross-reference); ``REMOVE`` removes the cross-reference
    local_id: str | None = None

    @classmethod
    def delivered(cls, **kwargs):
        return cls(DELIVERED, **kwargs)

    @classmethod
    def skipped(cls, reason):
        return cls(SKIPPED, receipt={"skipped": reason})

    @classmethod
    def failed(cls, error, **kwargs):
        return cls(FAILED, error=error[:MAX_ERROR_LENGTH], **kwargs)

    @classmethod
    def retry(cls, error, **kwargs):
        return cls(RETRY, error=error[:MAX_ERROR_LENGTH], **kwargs)


REMOVE = "\0remove"


class ConnectorError(Exception):
    """A delivery failed; carries its outcome. The message never holds a secret."""

    def __init__(self, outcome):
        super().__init__(outcome.error)
        self.outcome = outcome


def parse_retry_after(value, now=None):
    """``Retry-After`` as seconds: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def host_of(url):
    return urllib.parse.urlsplit(url).netloc


def outcome_of_response(response, method, url):
    """The outcome of an HTTP answer, by status class (module docstring)."""
    code = response.status_code
    where = f"{method} {host_of(url)}"
    if 200 <= code < 300:
        return Outcome.delivered(receipt={"status_code": code}, status_code=code)
    if code == 429 or code >= 500:
        return Outcome.retry(f"{where} answered {code}", status_code=code,
                             retry_after=parse_retry_after(response.headers.get("Retry-After")))
    return Outcome.failed(f"{where} answered {code}", status_code=code)


class Connector:
    """Base of every connector type.

    Subclasses set :attr:`type` (the entry-point name), :attr:`config_schema` (a
    marshmallow schema of the instance configuration), :attr:`secret_fields` (the
    configuration fields stored encrypted like the rest and masked whenever the
    configuration is read back) and implement :meth:`deliver`.
    """

    type = None
    description = ""
    config_schema = ma.Schema
    #: names of the configuration fields holding secrets (masked when read back)
    secret_fields = ()

    def __init__(self, name, config, *, timeout=10.0, base_url=None):
        self.name = name
        self.config = config
        self.timeout = timeout
        #: the hub's public URL (CloudEvents ``source``)
        self.base_url = base_url
        self._session = requests.Session()

    def deliver(self, message):
        """Send ``message``; return an :class:`Outcome` (or raise :class:`ConnectorError`)."""
        raise NotImplementedError

    def close(self):
        self._session.close()

    def http(self, method, url, *, auth=None, **kwargs):
        """One bounded HTTP call; returns ``(response or None, outcome)``.

        ``auth`` is an optional :class:`gru.connectors.oauth.TokenSource`: its bearer token
        is sent, and on a 401 a new token is fetched and the call retried once (a provider
        such as LemonLDAP::NG replaces its signing key in one step).
        """
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            if auth is not None:
                try:
                    headers["Authorization"] = "Bearer " + auth.token(renew=attempt == 2)
                except ConnectorError as error:
                    return None, error.outcome
            started = time.monotonic()
            try:
                response = self._session.request(method, url, headers=headers, timeout=self.timeout,
                                                 allow_redirects=False, **kwargs)
            except requests.Timeout:
                return None, Outcome.retry(f"{method} {host_of(url)} timed out after {self.timeout:g} s")
            except requests.RequestException as error:
                return None, Outcome.retry(f"{method} {host_of(url)} failed: {error.__class__.__name__}")
            if response.status_code == 401 and auth is not None and attempt == 1:
                continue
            outcome = outcome_of_response(response, method, url)
            outcome.receipt["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
            return response, outcome
        return response, outcome  # pragma: no cover - the loop always returns
