"""Errors of the identity context (users, roles and maker-checker requests)."""

from __future__ import annotations

from domain.errors import DomainError


class IdentityError(DomainError):
    """Base class of the identity context's domain errors."""


class InvalidUserName(IdentityError, ValueError):
    """A user name outside ``[a-z0-9._-]{2,64}`` (after lower-casing and trimming)."""


class UnknownRole(IdentityError, ValueError):
    """A role that is not a human role of the permission matrix."""


class UserStateError(IdentityError):
    """A user command its state does not allow (grant a held role, suspend twice ...)."""


class RequestStateError(IdentityError):
    """A decision on a change request that is no longer PENDING (or was never approved)."""


class InvalidRequest(IdentityError, ValueError):
    """A change request with a missing or unacceptable subject or parameter."""


class SelfApproval(IdentityError):
    """Maker-checker refused: the requester, or the subject of a role change, decided."""


class RequestExpired(IdentityError):
    """The request passed its expiry before the decision; ``Expired`` was recorded."""
