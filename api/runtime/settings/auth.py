"""``LEDGER_AUTH_*`` and ``LEDGER_METRICS_PUBLIC``: who may call the API.

Development, with no key set configured, trusts the local issuer whose keys live in
``<data dir>/auth`` (``ledger token`` signs with it). Production must name its identity
provider: ``LEDGER_AUTH_ISSUER`` and a JWKS (``LEDGER_AUTH_JWKS_URL`` over https, or
``LEDGER_AUTH_JWKS_FILE``); the local issuer is never trusted there. The section builds the
:class:`adapters.auth.config.AuthConfig` the token verifier uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import ValidationInfo, field_validator

from adapters.auth.config import (
    DEFAULT_AUDIENCE,
    LOCAL_ISSUER,
    MAX_TOKEN_LIFETIME_LIMIT_MINUTES,
    PRODUCTION_MAX_TOKEN_LIFETIME_MINUTES,
    AuthConfig,
)
from adapters.auth.tokens import ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS
from api.runtime.settings.base import Problems, Section, env, reading
from api.runtime.settings.parsing import when_text

_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _algorithms(raw: str) -> tuple[str, ...]:
    found = tuple(a.strip().upper() for a in raw.split(",") if a.strip())
    if not found or any(a not in ASYMMETRIC_ALGORITHMS for a in found):
        raise ValueError(
            f"only asymmetric algorithms ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}), got {raw!r}"
        )
    return found


def _leeway(raw: str) -> int:
    try:
        value = int(raw)
        if not 0 <= value <= 300:
            raise ValueError
    except ValueError:
        raise ValueError(f"must be an integer 0..300, got {raw!r}") from None
    return value


def _lifetime(raw: str) -> int:
    try:
        minutes = int(raw)
        if not 1 <= minutes <= MAX_TOKEN_LIFETIME_LIMIT_MINUTES:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"must be whole minutes 1..{MAX_TOKEN_LIFETIME_LIMIT_MINUTES}, got {raw!r}"
        ) from None
    return minutes


def _flag(raw: str) -> bool:
    value = raw.lower()
    if value not in _TRUE | _FALSE:
        raise ValueError(f"must be true or false, got {value!r}")
    return value in _TRUE


class AuthSettings(Section):
    """Token issuer, audience and keys; read into an :class:`AuthConfig`."""

    issuer: str | None = env(
        "LEDGER_AUTH_ISSUER",
        None,
        "the `iss` every token must carry; required in production",
        shown=f"`{LOCAL_ISSUER}`",
    )
    audience: str = env(
        "LEDGER_AUTH_AUDIENCE", DEFAULT_AUDIENCE, "the `aud` every token must carry"
    )
    jwks_url: str | None = env(
        "LEDGER_AUTH_JWKS_URL",
        None,
        "the identity provider's JWKS (https in production); cached, refetched for an unknown "
        "`kid`",
    )
    jwks_file: Path | None = env(
        "LEDGER_AUTH_JWKS_FILE",
        None,
        "a JWKS file instead of a URL (re-read when it changes)",
        cross_check=True,
    )
    algorithms: Annotated[tuple[str, ...], when_text(_algorithms)] = env(
        "LEDGER_AUTH_ALGORITHMS",
        DEFAULT_ALGORITHMS,
        "accepted algorithms; asymmetric ones only",
    )
    leeway_seconds: Annotated[int, when_text(_leeway)] = env(
        "LEDGER_AUTH_LEEWAY_SECONDS", 30, "clock skew allowed on `exp`/`nbf`/`iat` (0..300)"
    )
    max_token_lifetime_minutes: Annotated[int | None, when_text(_lifetime)] = env(
        "LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES",
        None,
        "a token whose `exp - iat` (or `exp - now`) is longer is refused (401); `iat` is "
        "always required",
        shown=f"`{PRODUCTION_MAX_TOKEN_LIFETIME_MINUTES}` in production, unset (no cap) in "
        "development",
    )
    metrics_public: Annotated[bool, when_text(_flag)] = env(
        "LEDGER_METRICS_PUBLIC",
        True,
        "`false`: `/metrics` needs `metrics:read` (service role `monitoring`)",
    )

    @field_validator("jwks_url")
    @classmethod
    def _scheme(cls, url: str | None) -> str | None:
        allowed = {"https"} if reading().production else {"https", "http"}
        if url is not None and urlsplit(url).scheme not in allowed:
            raise ValueError(f"must be an {' or '.join(sorted(allowed))} URL, got {url!r}")
        return url

    @field_validator("jwks_file")
    @classmethod
    def _identity_provider(cls, jwks_file: Path | None, info: ValidationInfo) -> Path | None:
        """One key source, and in production an issuer and a key source. A variable that
        failed its own check is missing from ``info.data``: it was set."""
        url_set = info.data.get("jwks_url", "invalid") is not None
        problems = []
        if jwks_file is not None and url_set:
            problems.append("LEDGER_AUTH_JWKS_FILE and LEDGER_AUTH_JWKS_URL: set one, not both")
        if reading().production:
            if not info.data.get("issuer", "invalid"):
                problems.append(
                    "LEDGER_AUTH_ISSUER: required in production (your identity provider)"
                )
            if jwks_file is None and not url_set:
                problems.append(
                    "LEDGER_AUTH_JWKS_URL (or LEDGER_AUTH_JWKS_FILE): required in production; "
                    "the local development issuer is not trusted there"
                )
        if problems:
            raise Problems(problems)
        return jwks_file

    def config(self, *, production: bool) -> AuthConfig:
        lifetime = self.max_token_lifetime_minutes
        if lifetime is None and production:
            lifetime = PRODUCTION_MAX_TOKEN_LIFETIME_MINUTES
        return AuthConfig(
            issuer=self.issuer or LOCAL_ISSUER,
            audience=self.audience,
            jwks_file=self.jwks_file,
            jwks_url=self.jwks_url,
            algorithms=self.algorithms,
            leeway_seconds=self.leeway_seconds,
            metrics_public=self.metrics_public,
            max_token_lifetime_minutes=lifetime,
        )
