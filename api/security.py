"""The authorization seam: who is calling (:class:`Principal`) and what they may do.

Every REST route and every GraphQL resolver calls :func:`authorize` with a named permission.
Permissions come from roles through :data:`domain.identity.permissions.ROLE_PERMISSIONS`; anything not granted there is
denied (deny by default), including a permission name nobody has heard of.

Today :func:`resolve_principal` returns a development principal holding every role. The
security issue replaces that one function with JWT validation; the call sites stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from domain.identity.permissions import (
    ALL_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    permissions_of,
)


PrincipalKind = Literal["user", "service"]


class Forbidden(Exception):
    """The principal lacks the permission; REST answers 403, GraphQL a FORBIDDEN error."""

    extensions: dict[str, object]  # read by graphql-core into the error

    def __init__(self, principal: Principal, permission: str) -> None:
        super().__init__(f"{principal.name} is not allowed to {permission}")
        self.principal = principal
        self.permission = permission
        self.extensions = {"code": "FORBIDDEN", "permission": permission}


@dataclass(frozen=True)
class Principal:
    """``name`` is the actor recorded on events: ``user:<name>`` or ``service:<role>``."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    kind: PrincipalKind = "user"

    @property
    def permissions(self) -> frozenset[str]:
        return permissions_of(self.roles)

    def can(self, permission: str) -> bool:
        return permission in ALL_PERMISSIONS and permission in self.permissions


def authorize(principal: Principal, permission: str) -> Principal:
    """Return ``principal`` if it holds ``permission``; otherwise raise :class:`Forbidden`."""
    if not principal.can(permission):
        raise Forbidden(principal, permission)
    return principal


DEVELOPMENT_PRINCIPAL = Principal(name="user:dev", roles=frozenset(ROLE_PERMISSIONS), kind="user")
ANONYMOUS = Principal(name="anonymous", roles=frozenset(), kind="user")


class HasHeaders(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...


class PrincipalResolver(Protocol):
    def __call__(self, request: HasHeaders) -> Principal: ...


def resolve_principal(request: HasHeaders) -> Principal:
    """The principal of a request. For now: the development principal, whatever was sent.

    The security issue validates the ``Authorization: Bearer`` JWT here instead.
    """
    return DEVELOPMENT_PRINCIPAL

__all__ = ["ALL_PERMISSIONS", "ROLE_PERMISSIONS", "Permission"]
