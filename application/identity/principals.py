"""Who asks and what authentication sees: the identity context's :class:`Requester` (a
principal with the permissions it holds now) and :class:`UserEntry` (a user's roles and
whether it is active), with the permission check every use case makes first.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotPermitted
from domain.identity.errors import InvalidUserName
from domain.identity.users import BackofficeUser, normalise_user_name


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asks: the principal name (``user:alice``) and the permissions it holds now."""

    name: str
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True, slots=True)
class UserEntry:
    """A user as authentication needs it: the roles granted now and whether active."""

    name: str
    roles: frozenset[str]
    active: bool
    display_name: str

    @classmethod
    def of(cls, user: BackofficeUser) -> UserEntry:
        return cls(
            name=user.name,
            roles=frozenset(user.roles),
            active=user.active,
            display_name=user.display_name,
        )


def bare_name(name: str) -> str:
    """``name`` without its ``user:`` prefix, normalised (as given when not a user name)."""
    try:
        return normalise_user_name(name)
    except InvalidUserName:
        return name


def require(by: Requester, permission: str) -> None:
    """Raise :class:`NotPermitted` unless ``by`` holds ``permission``."""
    if not by.can(permission):
        raise NotPermitted(by.name, permission)
