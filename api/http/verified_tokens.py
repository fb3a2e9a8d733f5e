"""Service principals whose bearer token was verified lately, so that a PSP sending thousands
of Verification of Payee requests a second with one token has its signature checked once a
minute rather than once a request (an RS256/ES256 verification costs about 0.1 ms of CPU, a
tenth of a single check's whole budget: docs/capacity.md).

Only service principals are kept (a person's token is looked up in the identity context every
time: a suspension must take effect), only for the tokens the real authenticator verified, at
most :data:`TRUST_SECONDS` and never past the token's own ``exp``; the general rate limit is
still taken per request by the caller. A token whose signing key is withdrawn from the JWKS is
refused at the latest :data:`TRUST_SECONDS` later.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import jwt

from api.security import Principal

TRUST_SECONDS = 60.0
MAX_TOKENS = 1_000


class VerifiedTokens:
    """A bounded map from an ``Authorization`` header to the service principal it proved."""

    def __init__(self, trust_seconds: float = TRUST_SECONDS, size: int = MAX_TOKENS) -> None:
        self.trust_seconds = trust_seconds
        self.size = size
        self._known: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, header: str) -> Principal | None:
        with self._lock:
            known = self._known.get(header)
            if known is None:
                return None
            if known[1] <= time.time():
                del self._known[header]
                return None
            return known[0]

    def remember(self, header: str, principal: Principal) -> None:
        """Keep ``principal`` (just verified from ``header``) if it is a service's."""
        if principal.kind != "service" or not header.startswith("Bearer "):
            return
        try:
            claims = jwt.decode(header[7:], options={"verify_signature": False})
            expires = float(claims["exp"])
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return
        until = min(expires, time.time() + self.trust_seconds)
        with self._lock:
            self._known[header] = (principal, until)
            self._known.move_to_end(header)
            while len(self._known) > self.size:
                self._known.popitem(last=False)
