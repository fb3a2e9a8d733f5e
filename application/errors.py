"""Errors the use cases raise towards the edge (mapped to 4xx by the API)."""

from __future__ import annotations


class ApplicationError(Exception):
    """Base class of use-case errors."""


class NotFound(ApplicationError):
    """The account or transaction named does not exist."""


class AlreadyExists(ApplicationError):
    """An account with that IBAN or code is already open."""


class InvalidCommand(ApplicationError, ValueError):
    """The command is well-formed but not acceptable (bad amount, unknown currency ...).

    ``problems`` lists each problem as ``"field: what is wrong"`` so that an edge can
    classify them (the message queue names a dead-letter reason after the fields).
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems) if problems else [message]


class Conflict(ApplicationError):
    """The command contradicts the current state (close a funded account, reverse twice ...)."""


class IdempotencyKeyReused(Conflict):
    """A payment repeats a booked ``(channel, externalId)`` but differs from it (amount,
    currency, parties or reference): not a retry of the same payment, and not booked."""


class ConcurrencyExhausted(ApplicationError):
    """Optimistic-concurrency retries ran out; the caller may try again later."""


class OutsideScope(ApplicationError):
    """A partitioned writer met an account another writer writes (its partition moved, or the
    payment was routed on a stale view): nothing was written; route it again and retry."""


class ReadModelsBehind(ConcurrencyExhausted):
    """A use case that reads the read models found them behind the event log and did not
    wait longer (the reconciliation's matching); the caller may try again shortly."""


class NotPermitted(ApplicationError):
    """The requester lacks the permission the use case needs (the edge answers 403)."""

    def __init__(self, requester: str, permission: str) -> None:
        super().__init__(f"{requester} is not allowed to {permission}")
        self.requester = requester
        self.permission = permission


class Refused(ApplicationError):
    """Maker-checker refused the decision: self-approval, or the subject of a role change
    deciding on it (the edge answers 403 ``REFUSED``)."""


class Expired(Conflict):
    """The change request expired before the decision; it was marked EXPIRED (409)."""


class ApprovalRequired(ApplicationError):
    """The change takes effect only through a maker-checker request (a reversal above the
    approval threshold); the edge names the operation that makes the request."""
