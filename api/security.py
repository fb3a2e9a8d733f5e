"""The authorization seam: who is calling (:class:`Principal`) and what they may do.

Every REST route and every GraphQL resolver calls :func:`authorize` with a named permission.
Permissions come from roles through :data:`domain.identity.permissions.ROLE_PERMISSIONS`;
anything not granted there is denied (deny by default), including an unknown permission.

Who is calling comes from the ``Authorization: Bearer`` JWT (:class:`TokenAuthenticator`):
verified against the configured key set, its subject looked up in the identity context.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from adapters.auth.config import AuthConfig
from adapters.auth.local_issuer import LocalIssuer
from adapters.auth.tokens import InvalidToken, JwksFile, JwksUrl, KeySource, TokenVerifier
from domain.identity.permissions import (
    ALL_PERMISSIONS,
    HUMAN_ROLES,
    ROLE_PERMISSIONS,
    SERVICE_ROLES,
    Permission,
    permissions_of,
)
from domain.identity.users import PRINCIPAL_NAME

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
    channels: frozenset[str] = field(default_factory=frozenset)
    """The payment channels a service may submit for and read (its token's ``channels``)."""

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


ANONYMOUS = Principal(name="anonymous", roles=frozenset(), kind="user")
"""Holds nothing: only the GraphiQL page (GET, HTML) is served to it."""


class Unauthenticated(Exception):
    """No bearer token, or one that failed verification: 401 with ``WWW-Authenticate``."""

    extensions: dict[str, object]

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.extensions = {"code": "UNAUTHENTICATED"}


class AccessDenied(Exception):
    """A valid token whose subject may not use the API at all (unknown or suspended user,
    or a token mixing people's and services' roles): 403."""


class ChannelNotAllowed(AccessDenied):
    """A channel's token used for another channel's payment: 403."""


def authorize_channel(principal: Principal, channel: str) -> None:
    """A service submits only for the channels its token names; people submit for none
    (they lack ``transactions:submit``), so only services are checked here."""
    if principal.kind == "service" and channel not in principal.channels:
        allowed = ", ".join(sorted(principal.channels)) or "none"
        raise ChannelNotAllowed(
            f"{principal.name} may submit for channels {allowed} only, not {channel}"
        )


def may_see_channel(principal: Principal, channel: str) -> bool:
    """Whether ``principal`` may read a payment of ``channel``: a service only its own."""
    return principal.kind != "service" or channel in principal.channels


class HasHeaders(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...


class PrincipalResolver(Protocol):
    def __call__(self, request: HasHeaders) -> Principal: ...


class DirectoryEntry(Protocol):
    """What the identity context knows of a user (``application.identity.principals.UserEntry``)."""

    @property
    def roles(self) -> frozenset[str]: ...

    @property
    def active(self) -> bool: ...


class UserDirectory(Protocol):
    def lookup(self, name: str) -> DirectoryEntry | None: ...


class CachedDirectory:
    """Looks users up for at most ``ttl`` seconds before asking the identity context again.

    Every request asks; the cache bounds that to one read per user and ``ttl``. A suspension
    or a revoked role therefore takes effect within ``ttl`` seconds in every process.
    """

    def __init__(
        self,
        directory: Callable[[], UserDirectory | None],
        ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._directory = directory
        self._ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, DirectoryEntry | None]] = {}

    def lookup(self, name: str) -> DirectoryEntry | None:
        now = self._clock()
        with self._lock:
            cached = self._entries.get(name)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        directory = self._directory()
        entry = directory.lookup(name) if directory is not None else None
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.clear()
            self._entries[name] = (now, entry)
        return entry


_SUBJECT = re.compile(rf"(user|service):({PRINCIPAL_NAME})")


class TokenAuthenticator:
    """Turns ``Authorization: Bearer <JWT>`` into a :class:`Principal`.

    * ``sub`` is ``user:<name>`` (a person) or ``service:<name>`` (a machine client).
    * A service holds the service roles its token carries (``channel``, ``ingestion``,
      ``monitoring``); a token of a service that claims a person's role is refused.
    * A person must be registered and active in the identity context; their roles are those
      granted there (by maker-checker), narrowed to the token's ``roles`` claim when it has one.
      A person's token claiming a service role is refused.
    """

    def __init__(self, verifier: TokenVerifier, directory: UserDirectory) -> None:
        self.verifier = verifier
        self.directory = directory

    def __call__(self, request: HasHeaders) -> Principal:
        return self.principal_of(bearer_token(request))

    def principal_of(self, token: str) -> Principal:
        try:
            verified = self.verifier.verify(token)
        except InvalidToken as error:
            raise Unauthenticated(str(error)) from None
        match = _SUBJECT.fullmatch(verified.subject)  # not .match: "$" admits a final newline
        if match is None:
            raise Unauthenticated("token subject must be user:<name> or service:<name>")
        kind, name = match.group(1), match.group(2)
        claimed = verified.roles
        if kind == "service":
            people = sorted((claimed or frozenset()) & HUMAN_ROLES.keys())
            if people:
                raise AccessDenied(f"a service token cannot carry staff roles {people}")
            roles = (claimed or frozenset()) & SERVICE_ROLES.keys()
            return Principal(
                name=f"service:{name}",
                roles=frozenset(roles),
                kind="service",
                channels=verified.channels or frozenset(),
            )
        services = sorted((claimed or frozenset()) & SERVICE_ROLES.keys())
        if services:
            raise AccessDenied(f"a person's token cannot carry service roles {services}")
        entry = self.directory.lookup(name)
        if entry is None:
            raise AccessDenied(f"user {name} is not registered")
        if not entry.active:
            raise AccessDenied(f"user {name} is suspended")
        granted = entry.roles & HUMAN_ROLES.keys()
        roles = granted if claimed is None else granted & claimed
        return Principal(name=f"user:{name}", roles=frozenset(roles), kind="user")


def bearer_token(request: HasHeaders) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def token_verifier(config: AuthConfig, data_dir: Path) -> TokenVerifier:
    """The verifier for ``config``: the configured JWKS, or the local issuer's keys."""
    keys: KeySource
    if config.jwks_url is not None:
        keys = JwksUrl(config.jwks_url)
    elif config.jwks_file is not None:
        keys = JwksFile(config.jwks_file)
    else:
        issuer = local_issuer(config, data_dir)
        issuer.ensure_keys()
        keys = JwksFile(issuer.jwks_path)
    return TokenVerifier(
        keys,
        issuer=config.issuer,
        audience=config.audience,
        algorithms=config.algorithms,
        leeway_seconds=config.leeway_seconds,
        max_lifetime_seconds=(
            config.max_token_lifetime_minutes * 60
            if config.max_token_lifetime_minutes is not None
            else None
        ),
    )


def local_issuer(config: AuthConfig, data_dir: Path) -> LocalIssuer:
    return LocalIssuer(config.local_keys_dir(data_dir), config.issuer, config.audience)


__all__ = ["ALL_PERMISSIONS", "ROLE_PERMISSIONS", "Permission"]
