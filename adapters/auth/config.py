"""Authentication settings (``LEDGER_AUTH_*``), read once at startup like the other settings.

Development, with no key set configured, trusts the local issuer whose keys live in
``<data dir>/auth`` (``ledger token`` signs with it). Production must name its identity
provider: ``LEDGER_AUTH_ISSUER`` and a JWKS (``LEDGER_AUTH_JWKS_URL`` over https, or
``LEDGER_AUTH_JWKS_FILE``); the local issuer is never trusted there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from adapters.auth.tokens import ASYMMETRIC_ALGORITHMS, DEFAULT_ALGORITHMS

LOCAL_ISSUER = "backoffice-ledger-local"
DEFAULT_AUDIENCE = "backoffice-ledger"
LOCAL_KEYS_DIR = "auth"
PRODUCTION_MAX_TOKEN_LIFETIME_MINUTES = 60
MAX_TOKEN_LIFETIME_LIMIT_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class AuthConfig:
    issuer: str = LOCAL_ISSUER
    audience: str = DEFAULT_AUDIENCE
    jwks_file: Path | None = None
    jwks_url: str | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_seconds: int = 30
    metrics_public: bool = True
    """False: ``/metrics`` needs a token with ``metrics:read`` (role ``monitoring``)."""
    max_token_lifetime_minutes: int | None = None
    """Tokens living longer (exp - iat, or exp - now) are refused; None: no cap. Production
    defaults to :data:`PRODUCTION_MAX_TOKEN_LIFETIME_MINUTES`, development to no cap."""

    @property
    def uses_local_issuer(self) -> bool:
        return self.jwks_file is None and self.jwks_url is None

    def local_keys_dir(self, data_dir: Path) -> Path:
        return data_dir / LOCAL_KEYS_DIR

    def describe(self) -> dict[str, object]:
        return {
            "issuer": self.issuer,
            "audience": self.audience,
            "keys": self.jwks_url or (str(self.jwks_file) if self.jwks_file else "local issuer"),
            "metrics_public": self.metrics_public,
            "max_token_lifetime_minutes": self.max_token_lifetime_minutes,
        }


def auth_config_from_env(
    env: Mapping[str, str], problems: list[str], *, production: bool
) -> AuthConfig:
    """Parse ``LEDGER_AUTH_*`` and ``LEDGER_METRICS_PUBLIC``; append every problem found."""

    def get(name: str) -> str:
        return env.get(name, "").strip()

    issuer = get("LEDGER_AUTH_ISSUER")
    audience = get("LEDGER_AUTH_AUDIENCE") or DEFAULT_AUDIENCE
    jwks_file = Path(get("LEDGER_AUTH_JWKS_FILE")) if get("LEDGER_AUTH_JWKS_FILE") else None
    jwks_url = get("LEDGER_AUTH_JWKS_URL") or None
    if jwks_file is not None and jwks_url is not None:
        problems.append("LEDGER_AUTH_JWKS_FILE and LEDGER_AUTH_JWKS_URL: set one, not both")
    if jwks_url is not None:
        scheme = urlsplit(jwks_url).scheme
        allowed = {"https"} if production else {"https", "http"}
        if scheme not in allowed:
            problems.append(
                f"LEDGER_AUTH_JWKS_URL: must be an {' or '.join(sorted(allowed))} URL, "
                f"got {jwks_url!r}"
            )
    if production:
        if not issuer:
            problems.append("LEDGER_AUTH_ISSUER: required in production (your identity provider)")
        if jwks_file is None and jwks_url is None:
            problems.append(
                "LEDGER_AUTH_JWKS_URL (or LEDGER_AUTH_JWKS_FILE): required in production; "
                "the local development issuer is not trusted there"
            )
    raw_algorithms = get("LEDGER_AUTH_ALGORITHMS")
    algorithms = DEFAULT_ALGORITHMS
    if raw_algorithms:
        algorithms = tuple(a.strip().upper() for a in raw_algorithms.split(",") if a.strip())
        refused = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if refused or not algorithms:
            problems.append(
                "LEDGER_AUTH_ALGORITHMS: only asymmetric algorithms "
                f"({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}), got {raw_algorithms!r}"
            )
            algorithms = DEFAULT_ALGORITHMS
    leeway = 30
    raw_leeway = get("LEDGER_AUTH_LEEWAY_SECONDS")
    if raw_leeway:
        try:
            leeway = int(raw_leeway)
            if not 0 <= leeway <= 300:
                raise ValueError
        except ValueError:
            problems.append(
                f"LEDGER_AUTH_LEEWAY_SECONDS: must be an integer 0..300, got {raw_leeway!r}"
            )
            leeway = 30
    lifetime = _max_token_lifetime(get("LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES"), problems)
    if lifetime is None and production:
        lifetime = PRODUCTION_MAX_TOKEN_LIFETIME_MINUTES
    raw_public = (get("LEDGER_METRICS_PUBLIC") or "true").lower()
    if raw_public not in {"true", "false", "1", "0", "yes", "no"}:
        problems.append(f"LEDGER_METRICS_PUBLIC: must be true or false, got {raw_public!r}")
    return AuthConfig(
        issuer=issuer or LOCAL_ISSUER,
        audience=audience,
        jwks_file=jwks_file,
        jwks_url=jwks_url,
        algorithms=algorithms,
        leeway_seconds=leeway,
        metrics_public=raw_public in {"true", "1", "yes"},
        max_token_lifetime_minutes=lifetime,
    )


def _max_token_lifetime(raw: str, problems: list[str]) -> int | None:
    """``LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES``: whole minutes, 1 up to a week; empty: None."""
    if not raw:
        return None
    try:
        minutes = int(raw)
        if not 1 <= minutes <= MAX_TOKEN_LIFETIME_LIMIT_MINUTES:
            raise ValueError
    except ValueError:
        problems.append(
            "LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES: must be whole minutes "
            f"1..{MAX_TOKEN_LIFETIME_LIMIT_MINUTES}, got {raw!r}"
        )
        return None
    return minutes
