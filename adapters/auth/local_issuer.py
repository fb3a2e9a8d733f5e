"""The development token issuer: an ES256 key pair kept in the data directory.

``ledger token`` signs tokens with it; the API trusts its public key (``jwks.json`` beside it)
when no production key set is configured. The private key file is created with mode 0600 and
never leaves the data directory. Production deployments set ``LEDGER_AUTH_JWKS_URL`` (or
``_FILE``) to their identity provider instead, and the local issuer is not used at all.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from jwt.utils import base64url_encode

PRIVATE_KEY_FILE = "signing-key.pem"
JWKS_FILE = "jwks.json"


@dataclass(frozen=True)
class LocalIssuer:
    """Signs ES256 tokens for ``issuer``/``audience`` with the key under ``directory``."""

    directory: Path
    issuer: str
    audience: str

    @property
    def jwks_path(self) -> Path:
        return self.directory / JWKS_FILE

    @property
    def key_path(self) -> Path:
        return self.directory / PRIVATE_KEY_FILE

    def ensure_keys(self) -> None:
        """Create the key pair and its JWKS on first use (idempotent, safe to race)."""
        if self.key_path.exists() and self.jwks_path.exists():
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            self._wait_for_jwks()
            return
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        jwk: dict[str, Any] = json.loads(ECAlgorithm.to_jwk(private.public_key()))
        jwk.update(kid=self._kid(jwk), use="sig", alg="ES256")
        partial = self.jwks_path.with_suffix(".tmp")
        partial.write_text(json.dumps({"keys": [jwk]}, indent=2) + "\n", encoding="utf-8")
        partial.replace(self.jwks_path)

    def _wait_for_jwks(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.jwks_path.exists() and time.monotonic() < deadline:
            time.sleep(0.01)

    @staticmethod
    def _kid(jwk: dict[str, Any]) -> str:
        """The RFC 7638 thumbprint, so the same key always has the same id."""
        canonical = json.dumps(
            {k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
        )
        return base64url_encode(sha256(canonical.encode()).digest()).decode()

    def kid(self) -> str:
        data = json.loads(self.jwks_path.read_text(encoding="utf-8"))
        return str(data["keys"][0]["kid"])

    def issue(
        self,
        subject: str,
        roles: list[str] | tuple[str, ...],
        ttl_seconds: int,
        *,
        channels: list[str] | tuple[str, ...] | None = None,
        now: float | None = None,
    ) -> str:
        """A signed token for ``subject`` (``user:<name>`` or ``service:<name>``); a payment
        channel's token names the ``channels`` it submits for."""
        self.ensure_keys()
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "roles": list(roles),
            "iat": issued,
            "nbf": issued,
            "exp": issued + ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        if channels is not None:
            claims["channels"] = list(channels)
        key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        return jwt.encode(claims, key, algorithm="ES256", headers={"kid": self.kid()})  # type: ignore[arg-type]
