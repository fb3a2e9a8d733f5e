"""The authorization seam: who is calling (:class:`Principal`) and what they may do.

Every REST route and every GraphQL resolver calls :func:`authorize` with a named permission.
Permissions come from roles through :data:`ROLE_PERMISSIONS`; anything not granted there is
denied (deny by default), including a permission name nobody has heard of.

Today :func:`resolve_principal` returns a development principal holding every role. The
security issue replaces that one function with JWT validation; the call sites stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol


class Permission(StrEnum):
    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    TRANSACTIONS_SUBMIT = "transactions:submit"
    TRANSACTIONS_READ = "transactions:read"
    TRANSACTIONS_REVERSE = "transactions:reverse"
    AUDIT_READ = "audit:read"
    REPORTS_READ = "reports:read"
    FRAUD_READ = "fraud:read"
    FRAUD_DECIDE = "fraud:decide"


ALL_PERMISSIONS: frozenset[str] = frozenset(p.value for p in Permission)

ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = {
    # backoffice staff
    "operator": frozenset(
        {
            Permission.ACCOUNTS_READ,
            Permission.ACCOUNTS_WRITE,
            Permission.TRANSACTIONS_READ,
            Permission.TRANSACTIONS_REVERSE,
        }
    ),
    "fraud-analyst": frozenset(
        {
            Permission.ACCOUNTS_READ,
            Permission.TRANSACTIONS_READ,
            Permission.FRAUD_READ,
            Permission.FRAUD_DECIDE,
        }
    ),
    "reconciler": frozenset(
        {Permission.ACCOUNTS_READ, Permission.TRANSACTIONS_READ, Permission.REPORTS_READ}
    ),
    "auditor": frozenset(
        {
            Permission.ACCOUNTS_READ,
            Permission.TRANSACTIONS_READ,
            Permission.AUDIT_READ,
            Permission.REPORTS_READ,
        }
    ),
    "admin": ALL_PERMISSIONS,
    # machine clients: payment channels put payments in and read their status back
    "channel": frozenset({Permission.TRANSACTIONS_SUBMIT, Permission.TRANSACTIONS_READ}),
}

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
        granted: set[str] = set()
        for role in self.roles:
            granted |= ROLE_PERMISSIONS.get(role, frozenset())
        return frozenset(granted)

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
