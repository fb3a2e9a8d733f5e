"""Authentication settings (``LEDGER_AUTH_*``, read by :mod:`api.runtime.settings.auth`).

Development, with no key set configured, trusts the local issuer whose keys live in
``<data dir>/auth`` (``ledger token`` signs with it). Production must name its identity
provider: ``LEDGER_AUTH_ISSUER`` and a JWKS (``LEDGER_AUTH_JWKS_URL`` over https, or
``LEDGER_AUTH_JWKS_FILE``); the local issuer is never trusted there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapters.auth.tokens import DEFAULT_ALGORITHMS

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
