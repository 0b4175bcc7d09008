"""Domain errors.

Services raise these; they know nothing of HTTP. The REST edge maps them to
``application/problem+json`` (RFC 9457) in :mod:`gru.rest.problems`, the CLI to a
one-line message and a non-zero exit.
"""


class GruError(Exception):
    """Base of every error the hub raises on purpose."""

    #: short, stable, machine-readable code used as the problem ``type`` suffix
    code = "error"
    #: HTTP status the REST edge answers with
    status = 400
    title = "Bad request"

    def __init__(self, detail=None, **extra):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class InvalidValue(GruError):
    """An attribute value (or any input field) failed validation; ``detail`` says why."""

    code = "invalid-value"
    status = 422
    title = "Invalid value"


class ValidationFailed(GruError):
    """A request as a whole is invalid; ``errors`` maps field names to messages."""

    code = "validation-failed"
    status = 422
    title = "Validation failed"

    def __init__(self, errors, detail=None):
        super().__init__(detail or "The request contains invalid fields.", errors=errors)
        self.errors = errors


class NotFound(GruError):
    code = "not-found"
    status = 404
    title = "Not found"


class Conflict(GruError):
    code = "conflict"
    status = 409
    title = "Conflict"


class Forbidden(GruError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class PreconditionRequired(GruError):
    """RFC 6585 section 3: the update must be conditional (``If-Match``)."""

    code = "precondition-required"
    status = 428
    title = "Precondition required"


class PreconditionFailed(GruError):
    """RFC 9110 section 13.1.1: the ``If-Match`` ETag is not the current one."""

    code = "precondition-failed"
    status = 412
    title = "Precondition failed"


class Unauthorized(GruError):
    """The caller is not (validly) authenticated. Never carries the token itself."""

    code = "unauthorized"
    status = 401
    title = "Unauthorized"


class ConfigurationError(GruError):
    code = "configuration"
    status = 500
    title = "Configuration error"
