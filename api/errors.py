"""One table for the errors a client caused or can act on: the REST status and the GraphQL code.

REST answers each error in :data:`ERRORS` with its ``status`` and ``{"detail": "<message>"}``
(:mod:`api.http.errors`); GraphQL raises it again as an error with the message and
``extensions.code`` (:mod:`api.graphql.errors`). Both look an error up by its class and then
its base classes (:func:`answer_for`), so a subclass answers as its nearest listed base
(``IdempotencyKeyReused`` as ``Conflict``) unless it is listed itself (``Expired``). An error
not in the table is unexpected: a generic 500 in REST, a masked error in GraphQL, except a
write refused by a read-only database (a standby: the secondary region, or the moment of a
failover), which answers :data:`READ_ONLY` (503 ``DATABASE_READ_ONLY``) whatever wraps it,
and a database that cannot be reached, :data:`UNAVAILABLE` (503 ``DATABASE_UNAVAILABLE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.database_state import is_read_only_error, is_unavailable_error
from api.security import AccessDenied, Forbidden, Unauthenticated
from application.errors import (
    AlreadyExists,
    ApprovalRequired,
    ConcurrencyExhausted,
    Conflict,
    Expired,
    InvalidCommand,
    NotFound,
    NotPermitted,
    Refused,
)
from domain.errors import DomainError


@dataclass(frozen=True)
class ErrorAnswer:
    """How both APIs answer one kind of error."""

    status: int
    """The REST status code."""
    code: str | None
    """GraphQL's ``extensions.code``; ``None`` when GraphQL does not translate the error: it
    carries its own ``extensions`` (:class:`~api.security.Forbidden`), or it is raised before
    a GraphQL execution starts and answered by its HTTP status (authentication)."""
    retry: bool = False
    """The caller may try again shortly: REST sends ``Retry-After: 1``, GraphQL's message
    ends in ``; try again``."""
    message: str | None = None
    """Shown instead of the error's own message (which, for a database error, is the
    server's)."""


ERRORS: Mapping[type[Exception], ErrorAnswer] = {
    InvalidCommand: ErrorAnswer(422, "BAD_USER_INPUT"),
    DomainError: ErrorAnswer(422, "BAD_USER_INPUT"),
    NotFound: ErrorAnswer(404, "NOT_FOUND"),
    AlreadyExists: ErrorAnswer(409, "ALREADY_EXISTS"),
    Conflict: ErrorAnswer(409, "CONFLICT"),
    Expired: ErrorAnswer(409, "EXPIRED"),
    ApprovalRequired: ErrorAnswer(409, "APPROVAL_REQUIRED"),
    NotPermitted: ErrorAnswer(403, "FORBIDDEN"),
    Refused: ErrorAnswer(403, "REFUSED"),  # maker-checker: self-approval
    ConcurrencyExhausted: ErrorAnswer(503, "UNAVAILABLE", retry=True),
    Forbidden: ErrorAnswer(403, None),  # GraphQL: its own extensions (code FORBIDDEN, permission)
    AccessDenied: ErrorAnswer(403, None),
    Unauthenticated: ErrorAnswer(401, None),  # REST adds the WWW-Authenticate challenge
}


READ_ONLY = ErrorAnswer(
    503,
    "DATABASE_READ_ONLY",
    message="the database is read-only (a standby: this deployment serves reads only, or a "
    "failover is under way); writes go to the primary region",
)
"""A write refused by the database (SQLSTATE 25006): not the client's fault and not a crash.
No ``Retry-After``: in the secondary region it will not succeed until that region is
promoted; a channel retries as it retries any 503."""


UNAVAILABLE = ErrorAnswer(
    503,
    "DATABASE_UNAVAILABLE",
    retry=True,
    message="the database cannot be reached (a failover may be under way)",
)
"""The database could not be reached or dropped the session, after the store's own retries:
``Retry-After: 1``; a write either committed or not, and a retry with the same idempotency
key is exactly-once either way."""


def answer_for(error: BaseException) -> ErrorAnswer | None:
    """The answer for ``error``'s class or its nearest listed base, or :data:`READ_ONLY` for
    a write a read-only database refused; ``None``: unexpected."""
    for cls in type(error).__mro__:
        answer = ERRORS.get(cls)
        if answer is not None:
            return answer
    if is_read_only_error(error):
        return READ_ONLY
    if is_unavailable_error(error):
        return UNAVAILABLE
    return None
