"""Service tokens verified lately are trusted again, within bounds (api/http/verified_tokens.py)."""

from __future__ import annotations

import time

import jwt

from api.http.verified_tokens import VerifiedTokens
from api.security import Principal

SERVICE = Principal("service:bankfrpp", frozenset({"vop_requester"}), kind="service")


def _header(expires_in: float) -> str:
    token = jwt.encode({"exp": int(time.time() + expires_in)}, "k" * 32, algorithm="HS256")
    return f"Bearer {token}"


def test_a_service_token_is_trusted_again_until_the_window_or_its_expiry() -> None:
    tokens = VerifiedTokens(trust_seconds=60)
    header = _header(3600)
    assert tokens.get(header) is None
    tokens.remember(header, SERVICE)
    assert tokens.get(header) == SERVICE
    expired = _header(-1)
    tokens.remember(expired, SERVICE)
    assert tokens.get(expired) is None  # never past the token's own exp
    short = VerifiedTokens(trust_seconds=0)
    short.remember(header, SERVICE)
    assert short.get(header) is None  # nor past the trust window


def test_people_and_odd_headers_are_never_kept_and_the_map_is_bounded() -> None:
    tokens = VerifiedTokens(size=2)
    person = Principal("user:alice", frozenset({"admin"}), kind="user")
    header = _header(3600)
    tokens.remember(header, person)
    assert tokens.get(header) is None
    tokens.remember("Basic abc", SERVICE)
    tokens.remember("Bearer not-a-jwt", SERVICE)
    assert tokens.get("Basic abc") is None and tokens.get("Bearer not-a-jwt") is None
    headers = [_header(3600 + n) for n in range(3)]
    for h in headers:
        tokens.remember(h, SERVICE)
    assert tokens.get(headers[0]) is None  # the oldest went first
    assert tokens.get(headers[2]) == SERVICE
