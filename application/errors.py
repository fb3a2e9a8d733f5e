"""Errors the use cases raise towards the edge (mapped to 4xx by the API)."""

from __future__ import annotations


class ApplicationError(Exception):
    """Base class of use-case errors."""


class NotFound(ApplicationError):
    """The account or transaction named does not exist."""


class AlreadyExists(ApplicationError):
    """An account with that IBAN or code is already open."""


class InvalidCommand(ApplicationError, ValueError):
    """The command is well-formed but not acceptable (bad amount, unknown currency ...)."""


class Conflict(ApplicationError):
    """The command contradicts the current state (close a funded account, reverse twice ...)."""


class ConcurrencyExhausted(ApplicationError):
    """Optimistic-concurrency retries ran out; the caller may try again later."""
