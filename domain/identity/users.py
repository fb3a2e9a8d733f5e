"""A backoffice user: a person with human roles, who can be suspended and reactivated.

::

    Registered -> RoleGranted* / RoleRevoked* -> Suspended <-> Reactivated

The id derives from the normalised user name, so a name can be registered once only.
Roles are granted and revoked through maker-checker requests (``request_id`` names the
approved request) or by the console bootstrap (``request_id`` None). Only the human roles
of :data:`domain.identity.permissions.HUMAN_ROLES` can be held: no person holds a
service role.
"""

from __future__ import annotations

import re
from enum import StrEnum
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.identity.errors import InvalidUserName, UnknownRole, UserStateError
from domain.identity.permissions import HUMAN_ROLES, permissions_of

IDENTITY_NAMESPACE = UUID("3b0f5e2a-8c1d-4f7e-9a6b-2d4c8e1f0a57")

PRINCIPAL_NAME = r"[a-z0-9][a-z0-9._-]{1,63}"
"""A user's or a service's name: 2 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or
digit (the same rule for token subjects, so every registered user can sign in)."""
_USER_NAME = re.compile(PRINCIPAL_NAME)


class UserStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


def normalise_user_name(name: str) -> str:
    """``name`` trimmed and lower-cased; raise :class:`InvalidUserName` unless it then
    matches :data:`PRINCIPAL_NAME` entirely."""
    value = name.strip().lower()
    if not _USER_NAME.fullmatch(value):
        raise InvalidUserName(
            "user name must be 2 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter "
            f"or digit, got {name!r}"
        )
    return value


def user_id(name: str) -> UUID:
    """The id of the user called ``name`` (normalised first)."""
    return uuid5(IDENTITY_NAMESPACE, f"user:{normalise_user_name(name)}")


def check_human_role(role: str) -> str:
    if role not in HUMAN_ROLES:
        raise UnknownRole(f"unknown role {role!r}; people hold one of {', '.join(HUMAN_ROLES)}")
    return role


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise UserStateError("a reason is required")
    return text


class BackofficeUser(AttributedAggregate):
    """A person working in the backoffice, with the human roles granted to them."""

    @staticmethod
    def create_id(name: str) -> UUID:
        return user_id(name)

    @event("Registered")
    def __init__(self, name: str, display_name: str) -> None:
        self.name = name
        self.display_name = display_name
        self.roles: set[str] = set()
        self.status = UserStatus.ACTIVE

    @classmethod
    def register(cls, name: str, display_name: str | None = None) -> BackofficeUser:
        """A new active user without roles; the display name defaults to the user name."""
        normalised = normalise_user_name(name)
        shown = (display_name or "").strip() or normalised
        if len(shown) > 200:
            raise UserStateError("display name must be at most 200 characters")
        return cls(name=normalised, display_name=shown)

    # -- queries -------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.status is UserStatus.ACTIVE

    @property
    def principal(self) -> str:
        """The principal name events of this user carry as actor: ``user:<name>``."""
        return f"user:{self.name}"

    @property
    def permissions(self) -> frozenset[str]:
        """What the user may do now: nothing while suspended."""
        return permissions_of(self.roles) if self.active else frozenset()

    # -- commands ------------------------------------------------------------------

    def check_can_grant(self, role: str) -> None:
        check_human_role(role)
        if role in self.roles:
            raise UserStateError(f"{self.name} already holds role {role}")

    def grant_role(self, role: str, request_id: UUID | None) -> None:
        self.check_can_grant(role)
        self._role_granted(role=role, request_id=request_id)

    @event("RoleGranted")
    def _role_granted(self, role: str, request_id: UUID | None) -> None:
        self.roles.add(role)

    def check_can_revoke(self, role: str) -> None:
        check_human_role(role)
        if role not in self.roles:
            raise UserStateError(f"{self.name} does not hold role {role}")

    def revoke_role(self, role: str, request_id: UUID | None) -> None:
        self.check_can_revoke(role)
        self._role_revoked(role=role, request_id=request_id)

    @event("RoleRevoked")
    def _role_revoked(self, role: str, request_id: UUID | None) -> None:
        self.roles.discard(role)

    def suspend(self, reason: str) -> None:
        """Take every permission away until reactivated (the roles are kept)."""
        if not self.active:
            raise UserStateError(f"{self.name} is already suspended")
        self._suspended(reason=_reason(reason))

    @event("Suspended")
    def _suspended(self, reason: str) -> None:
        self.status = UserStatus.SUSPENDED

    def reactivate(self, reason: str) -> None:
        if self.active:
            raise UserStateError(f"{self.name} is not suspended")
        self._reactivated(reason=_reason(reason))

    @event("Reactivated")
    def _reactivated(self, reason: str) -> None:
        self.status = UserStatus.ACTIVE
