"""One error tree for the whole service.

Adapters translate botocore/PynamoDB errors into these at the boundary; the API maps them to
HTTP statuses in one table (``chalicelib.api.problems``). Never branch on an exception's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one place in an input: ``loc`` is a JSON-pointer-like path."""

    loc: str
    msg: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "msg": self.msg}


@dataclass
class TvaritError(Exception):
    """Base of every error the service raises on purpose."""

    detail: str
    problems: list[FieldProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return self.detail


class InvalidInputError(TvaritError):
    """The input is well-formed but breaks a rule (wrong field, value out of range...)."""


class MalformedInputError(TvaritError):
    """The input cannot be read at all (not JSON, not UTF-8, not the expected shape)."""


class AuthenticationError(TvaritError):
    """The caller could not be authenticated (bad signature, expired timestamp, bad token)."""


class ForbiddenError(TvaritError):
    """The caller is authenticated but may not touch this object."""


class NotFoundError(TvaritError):
    """The object does not exist (or is outside the caller's scope)."""


class ConflictError(TvaritError):
    """The write conflicts with the current state (duplicate, version mismatch)."""


class PreconditionFailedError(TvaritError):
    """If-Match named a version that is no longer current (someone changed the object)."""


class PreconditionRequiredError(TvaritError):
    """A change of an existing object needs If-Match with the version it was based on."""


class UnsupportedMediaTypeError(TvaritError):
    """The body is not in a media type the endpoint accepts."""


class TooManyRequestsError(TvaritError):
    """A caller of our API sent too many requests; retry later (HTTP 429)."""


class PayloadTooLargeError(TvaritError):
    """The request body is larger than the endpoint accepts."""


class UpstreamError(TvaritError):
    """An AWS service or a platform API failed; the operation may be retried."""


class ParseError(TvaritError):
    """A platform payload or query text could not be parsed."""


@dataclass
class RateLimitedError(UpstreamError):
    """A platform refused the call for quota reasons; ``retry_at`` is Unix seconds, if known."""

    retry_at: float | None = None


@dataclass
class PlatformStatusError(UpstreamError):
    """A platform answered with an error status (not a network failure): ``status`` says which.

    Stream consumers back off differently for the two (X: linear after network errors,
    exponential after HTTP errors).
    """

    status: int = 0


@dataclass
class QuerySyntaxError(ParseError):
    """A keyword query is not valid; ``column`` is 1-based (0 when the whole query is at fault)."""

    column: int = 0


@dataclass
class BackpressureError(UpstreamError):
    """An AWS dependency is throttling, unreachable or not answering in time.

    ``retry_after`` (seconds) becomes the 503's ``Retry-After``: the caller should back off,
    not hang on, and then send the same thing again. After a timeout AWS may still have taken
    it; the mention key makes the repeat harmless.
    """

    retry_after: int = 5


class OutOfTimeError(TvaritError):
    """Too little of the invocation's time is left to start this record; it is handed back."""
