"""Verify JWT bearer tokens: signature, algorithm, issuer, audience, expiry, not-before.

Keys come from a JSON Web Key Set — a file (re-read when it changes, so keys can rotate
without a restart) or a URL (fetched and cached by PyJWT's ``PyJWKClient``). Only asymmetric
algorithms are accepted (RS256, ES256 by default), and a token is checked with exactly the
algorithm its key is for: ``alg: none``, an HS256 token signed with the public key as an HMAC
secret, or an RS256 header pointing at an EC key are all refused before any signature math.

Every refusal is an :class:`InvalidToken` whose message says what was wrong (it is safe to
return to the caller: it names a claim, never a key).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"})
DEFAULT_ALGORITHMS: tuple[str, ...] = ("RS256", "ES256")
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")


class InvalidToken(Exception):
    """The bearer token was refused; ``str(error)`` says why."""


@dataclass(frozen=True)
class VerifiedToken:
    """The claims of a token whose signature and registered claims were checked."""

    subject: str
    roles: frozenset[str] | None
    """The ``roles`` claim; None when the token has none (the identity context decides)."""
    issuer: str
    expires_at: int
    token_id: str | None
    claims: Mapping[str, Any]
    channels: frozenset[str] | None = None
    """The ``channels`` claim of a payment channel's token (codes, upper case); None: absent."""


class KeySource(Protocol):
    def key_for(self, kid: str | None, token: str) -> PyJWK: ...


def _algorithm_of(key: PyJWK) -> str | None:
    name = getattr(key, "algorithm_name", None)
    return str(name) if name else None


class JwksFile:
    """Keys from a JWKS file, re-read when its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str | None, PyJWK] = {}

    def _load(self) -> dict[str | None, PyJWK]:
        try:
            stat = self.path.stat()
        except OSError as error:
            raise InvalidToken(f"signing keys unavailable: {error.strerror}") from None
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                keys = PyJWKSet.from_dict(data).keys
                self._keys = {key.key_id: key for key in keys}
                self._stamp = stamp
            return self._keys

    def key_for(self, kid: str | None, token: str) -> PyJWK:
        return select_key(self._load(), kid)


class JwksUrl:
    """Keys from a JWKS URL (cached; an unknown ``kid`` refreshes the cache once)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        # The key set is cached for five minutes (lifespan); single keys are not cached apart
        # from it (cache_keys would keep a withdrawn key forever).
        self.client = PyJWKClient(
            url, cache_keys=False, cache_jwk_set=True, lifespan=300, timeout=int(timeout)
        )

    def key_for(self, kid: str | None, token: str) -> PyJWK:
        try:
            return self.client.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientError as error:
            raise InvalidToken(f"no signing key for this token: {error}") from None


def select_key(keys: Mapping[str | None, PyJWK], kid: str | None) -> PyJWK:
    if kid is None:
        if len(keys) == 1:
            return next(iter(keys.values()))
        raise InvalidToken("token has no key id (kid) and the key set has several keys")
    key = keys.get(kid)
    if key is None:
        raise InvalidToken(f"unknown signing key {kid!r}")
    return key


class TokenVerifier:
    """Checks a compact JWT and returns its claims, or raises :class:`InvalidToken`."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway_seconds: int = 30,
        max_lifetime_seconds: int | None = None,
    ) -> None:
        unsupported = set(algorithms) - ASYMMETRIC_ALGORITHMS
        if unsupported:
            raise ValueError(f"only asymmetric algorithms are accepted, not {sorted(unsupported)}")
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway = leeway_seconds
        self.max_lifetime = max_lifetime_seconds
        """None: any lifetime; else exp - iat and exp - now must not exceed it (seconds)."""

    def verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:  # also a non-string kid or an unknown crit
            raise InvalidToken(f"malformed token: {error}") from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
        key = self.keys.key_for(header.get("kid"), token)
        key_algorithm = _algorithm_of(key)
        if key_algorithm is not None and key_algorithm != algorithm:
            raise InvalidToken(f"algorithm {algorithm!r} does not match the key ({key_algorithm})")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token is not valid yet (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token is from an untrusted issuer") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"token lacks the {error.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("token signature is invalid") from None
        except jwt.PyJWTError as error:
            raise InvalidToken(f"token is invalid: {error}") from None
        if self.max_lifetime is not None:
            check_lifetime(claims, self.max_lifetime, self.leeway)
        return _verified(claims)


def check_lifetime(claims: Mapping[str, Any], maximum: int, leeway: int) -> None:
    """Refuse a token whose lifetime (``exp - iat``) exceeds ``maximum`` seconds, or that
    stays valid longer than that from now (a backdated ``iat``): a leaked long-lived token
    would otherwise work for as long as its issuer chose."""
    expires, issued = int(claims["exp"]), int(claims["iat"])  # both checked numbers
    lifetime = expires - issued
    if lifetime > maximum:
        raise InvalidToken(f"token lifetime of {lifetime} s exceeds the maximum of {maximum} s")
    remaining = expires - int(time.time())
    if remaining > maximum + leeway:
        raise InvalidToken(
            f"token stays valid for {remaining} s, which exceeds the maximum of {maximum} s"
        )


def _verified(claims: dict[str, Any]) -> VerifiedToken:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidToken("token subject (sub) is empty")
    raw_roles = claims.get("roles")
    if isinstance(raw_roles, str):
        raw_roles = raw_roles.split()
    if raw_roles is not None and (
        not isinstance(raw_roles, list) or not all(isinstance(r, str) for r in raw_roles)
    ):
        raise InvalidToken("token roles claim must be a list of role names")
    raw_channels = claims.get("channels")
    if raw_channels is not None and (
        not isinstance(raw_channels, list) or not all(isinstance(c, str) for c in raw_channels)
    ):
        raise InvalidToken("token channels claim must be a list of channel codes")
    token_id = claims.get("jti")
    return VerifiedToken(
        subject=subject,
        roles=frozenset(raw_roles) if raw_roles is not None else None,
        issuer=str(claims["iss"]),
        expires_at=int(claims["exp"]),
        token_id=str(token_id) if token_id is not None else None,
        claims=claims,
        channels=(
            frozenset(c.strip().upper() for c in raw_channels) if raw_channels is not None else None
        ),
    )
