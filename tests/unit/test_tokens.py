"""Bearer tokens: what the verifier accepts, and every kind of token it must refuse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from adapters.auth.local_issuer import LocalIssuer
from adapters.auth.tokens import InvalidToken, JwksFile, TokenVerifier
from api.security import (
    AccessDenied,
    CachedDirectory,
    TokenAuthenticator,
    Unauthenticated,
)

ISSUER = "https://idp.test/realms/backoffice"
AUDIENCE = "backoffice-ledger"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, object], claims: dict[str, object]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user:alice",
        "roles": ["operator"],
        "iat": now,
        "nbf": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@dataclass
class RsaKey:
    """An identity provider's RS256 key, published in a JWKS file."""

    private: rsa.RSAPrivateKey
    kid: str

    def sign(self, payload: dict[str, object], **header: object) -> str:
        return jwt.encode(
            payload, self.private, algorithm="RS256", headers={"kid": self.kid, **header}
        )

    def jwk(self) -> dict[str, object]:
        jwk: dict[str, object] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return jwk

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def idp_key() -> RsaKey:
    return RsaKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "idp-1")


@pytest.fixture
def verifier(idp_key: RsaKey, tmp_path: Path) -> TokenVerifier:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [idp_key.jwk()]}))
    return TokenVerifier(JwksFile(path), issuer=ISSUER, audience=AUDIENCE)


def test_a_valid_rs256_token_is_accepted(idp_key: RsaKey, verifier: TokenVerifier) -> None:
    verified = verifier.verify(idp_key.sign(claims(jti="t-1")))
    assert verified.subject == "user:alice"
    assert verified.roles == frozenset({"operator"})
    assert verified.token_id == "t-1"


def test_alg_none_is_refused(verifier: TokenVerifier, idp_key: RsaKey) -> None:
    token = unsigned({"alg": "none", "typ": "JWT", "kid": idp_key.kid}, claims()) + "."
    with pytest.raises(InvalidToken, match="algorithm 'none' is not accepted"):
        verifier.verify(token)


def test_hs256_signed_with_the_public_key_is_refused(
    verifier: TokenVerifier, idp_key: RsaKey
) -> None:
    """The classic key-confusion attack: the public key used as an HMAC secret."""
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": idp_key.kid}, claims())
    mac = hmac.new(idp_key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(InvalidToken, match="algorithm 'HS256' is not accepted"):
        verifier.verify(f"{signing_input}.{b64(mac)}")


def test_an_es256_header_against_an_rsa_key_is_refused(
    verifier: TokenVerifier, idp_key: RsaKey
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(), other, algorithm="ES256", headers={"kid": idp_key.kid})
    with pytest.raises(InvalidToken, match="does not match the key"):
        verifier.verify(token)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "someone-else"}, "another audience"),
        ({"iss": "https://evil.test"}, "untrusted issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"exp": None}, "lacks the 'exp' claim"),
        ({"sub": None}, "lacks the 'sub' claim"),
        ({"aud": None}, "lacks the 'aud' claim"),
        ({"roles": "admin"}, None),  # a space-separated string is tolerated (scope style)
        ({"roles": [1, 2]}, "roles claim must be a list"),
    ],
)
def test_registered_claims_are_enforced(
    verifier: TokenVerifier, idp_key: RsaKey, overrides: dict[str, object], reason: str | None
) -> None:
    token = idp_key.sign(claims(**overrides))
    if reason is None:
        assert verifier.verify(token).roles == frozenset({"admin"})
        return
    with pytest.raises(InvalidToken, match=reason):
        verifier.verify(token)


def test_a_token_signed_by_an_untrusted_key_is_refused(verifier: TokenVerifier) -> None:
    attacker = RsaKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "idp-1")
    with pytest.raises(InvalidToken, match="signature is invalid"):
        verifier.verify(attacker.sign(claims()))


def test_an_unknown_key_id_is_refused(verifier: TokenVerifier, idp_key: RsaKey) -> None:
    token = jwt.encode(claims(), idp_key.private, algorithm="RS256", headers={"kid": "idp-9"})
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verifier.verify(token)


def test_a_changed_payload_breaks_the_signature(verifier: TokenVerifier, idp_key: RsaKey) -> None:
    header, _payload, signature = idp_key.sign(claims()).split(".")
    forged = b64(json.dumps(claims(roles=["admin"])).encode())
    with pytest.raises(InvalidToken, match="signature is invalid"):
        verifier.verify(f"{header}.{forged}.{signature}")


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "a.b.c", "😀.😀.😀"])
def test_garbage_is_refused(verifier: TokenVerifier, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(garbage)


def test_keys_rotate_without_a_restart(idp_key: RsaKey, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [idp_key.jwk()]}))
    verifier = TokenVerifier(JwksFile(path), issuer=ISSUER, audience=AUDIENCE)
    new = RsaKey(rsa.generate_private_key(public_exponent=65537, key_size=2048), "idp-2")
    with pytest.raises(InvalidToken, match="unknown signing key"):
        verifier.verify(new.sign(claims()))
    path.write_text(json.dumps({"keys": [idp_key.jwk(), new.jwk()]}))
    assert verifier.verify(new.sign(claims())).subject == "user:alice"


def test_the_local_issuer_signs_es256_tokens_the_verifier_accepts(tmp_path: Path) -> None:
    issuer = LocalIssuer(tmp_path / "auth", "backoffice-ledger-local", AUDIENCE)
    token = issuer.issue("service:mobile", ["channel"], 60)
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    verifier = TokenVerifier(JwksFile(issuer.jwks_path), issuer=issuer.issuer, audience=AUDIENCE)
    assert verifier.verify(token).roles == frozenset({"channel"})
    assert (issuer.key_path.stat().st_mode & 0o777) == 0o600
    again = LocalIssuer(tmp_path / "auth", issuer.issuer, AUDIENCE)
    again.ensure_keys()  # keeps the existing key: earlier tokens stay valid
    assert verifier.verify(token).subject == "service:mobile"


@pytest.fixture
def capped(idp_key: RsaKey, tmp_path: Path) -> TokenVerifier:
    """A verifier that accepts tokens living at most an hour (production's default)."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [idp_key.jwk()]}))
    return TokenVerifier(
        JwksFile(path), issuer=ISSUER, audience=AUDIENCE, max_lifetime_seconds=3600
    )


def test_a_token_living_longer_than_the_maximum_is_refused(
    capped: TokenVerifier, verifier: TokenVerifier, idp_key: RsaKey
) -> None:
    now = int(time.time())
    year = idp_key.sign(claims(iat=now, nbf=now, exp=now + 365 * 86400))
    with pytest.raises(InvalidToken, match="lifetime of 31536000 s exceeds the maximum of 3600 s"):
        capped.verify(year)
    assert verifier.verify(year).subject == "user:alice"  # without a cap: accepted
    hour = idp_key.sign(claims(iat=now, nbf=now, exp=now + 3600))
    assert capped.verify(hour).subject == "user:alice"
    just_over = idp_key.sign(claims(iat=now, nbf=now, exp=now + 3601))
    with pytest.raises(InvalidToken, match="exceeds the maximum"):
        capped.verify(just_over)


def test_a_backdated_iat_does_not_stretch_the_lifetime(
    capped: TokenVerifier, idp_key: RsaKey
) -> None:
    """``iat`` an hour ago and ``exp`` in two days: both exp - iat and exp - now are too long."""
    now = int(time.time())
    token = idp_key.sign(claims(iat=now - 3600, nbf=now - 3600, exp=now + 2 * 86400))
    with pytest.raises(InvalidToken, match="exceeds the maximum"):
        capped.verify(token)


def test_a_capped_verifier_still_needs_iat(capped: TokenVerifier, idp_key: RsaKey) -> None:
    with pytest.raises(InvalidToken, match="lacks the 'iat' claim"):
        capped.verify(idp_key.sign(claims(iat=None)))


# --------------------------------------------------------------------------- principals


@dataclass(frozen=True)
class Entry:
    roles: frozenset[str]
    active: bool = True


class Directory:
    def __init__(self, **users: Entry) -> None:
        self.users = users
        self.lookups = 0

    def lookup(self, name: str) -> Entry | None:
        self.lookups += 1
        return self.users.get(name)


@dataclass
class Request:
    headers: dict[str, str]


def bearer(token: str) -> Request:
    return Request({"authorization": f"Bearer {token}"})


@pytest.fixture
def directory() -> Directory:
    return Directory(
        alice=Entry(frozenset({"operator", "auditor"})),
        sam=Entry(frozenset({"admin"}), active=False),
    )


@pytest.fixture
def authenticate(verifier: TokenVerifier, directory: Directory) -> TokenAuthenticator:
    return TokenAuthenticator(verifier, directory)


def test_a_person_holds_the_granted_roles_narrowed_by_the_token(
    authenticate: TokenAuthenticator, idp_key: RsaKey
) -> None:
    narrowed = authenticate(bearer(idp_key.sign(claims(roles=["operator", "admin"]))))
    assert (narrowed.name, narrowed.kind, narrowed.roles) == (
        "user:alice",
        "user",
        frozenset({"operator"}),  # admin was claimed but never granted
    )
    full = authenticate(bearer(idp_key.sign(claims(roles=None))))
    assert full.roles == frozenset({"operator", "auditor"})


def test_a_service_holds_the_service_roles_of_its_token(
    authenticate: TokenAuthenticator, idp_key: RsaKey
) -> None:
    token = idp_key.sign(claims(sub="service:mobile", roles=["channel"], channels=["mobile"]))
    principal = authenticate(bearer(token))
    assert (principal.kind, principal.roles) == ("service", frozenset({"channel"}))
    assert principal.channels == frozenset({"MOBILE"})
    assert principal.can("transactions:submit")
    assert not principal.can("accounts:read")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"sub": "service:mobile", "roles": ["channel", "admin"]}, "cannot carry staff roles"),
        ({"roles": ["operator", "channel"]}, "cannot carry service roles"),
        ({"sub": "user:mallory"}, "not registered"),
        ({"sub": "user:sam", "roles": ["admin"]}, "suspended"),
    ],
)
def test_subjects_that_may_not_use_the_api_are_denied(
    authenticate: TokenAuthenticator, idp_key: RsaKey, overrides: dict[str, object], reason: str
) -> None:
    with pytest.raises(AccessDenied, match=reason):
        authenticate(bearer(idp_key.sign(claims(**overrides))))


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Basic YWxpY2U6c2VjcmV0"}, {"authorization": "Bearer "}],
)
def test_requests_without_a_bearer_token_are_unauthenticated(
    authenticate: TokenAuthenticator, headers: dict[str, str]
) -> None:
    with pytest.raises(Unauthenticated):
        authenticate(Request(headers))


@pytest.mark.parametrize("subject", ["alice", "admin:alice", "user:", "user:A!", "robot:r2"])
def test_subjects_must_name_a_user_or_a_service(
    authenticate: TokenAuthenticator, idp_key: RsaKey, subject: str
) -> None:
    with pytest.raises(Unauthenticated, match="user:<name> or service:<name>"):
        authenticate(bearer(idp_key.sign(claims(sub=subject))))


def test_the_directory_is_asked_again_after_its_ttl() -> None:
    now = [100.0]
    directory = Directory(alice=Entry(frozenset({"viewer"})))
    cached = CachedDirectory(lambda: directory, ttl=2.0, clock=lambda: now[0])
    assert cached.lookup("alice") == Entry(frozenset({"viewer"}))
    directory.users["alice"] = Entry(frozenset({"viewer"}), active=False)
    now[0] += 1.0
    assert cached.lookup("alice").active  # type: ignore[union-attr]  # still cached
    now[0] += 1.5
    assert not cached.lookup("alice").active  # type: ignore[union-attr]  # suspension seen
    assert directory.lookups == 2


@pytest.mark.parametrize(
    "header",
    [{"kid": ["x"]}, {"kid": {"a": 1}}, {"kid": 123}, {"crit": ["x"]}],
)
def test_malformed_headers_are_refused_not_crashing(
    verifier: TokenVerifier, idp_key: RsaKey, header: dict[str, object]
) -> None:
    token = unsigned({"alg": "RS256", "typ": "JWT", **header}, claims()) + ".c2ln"
    with pytest.raises(InvalidToken, match="malformed token"):
        verifier.verify(token)


@pytest.mark.parametrize(
    "subject", ["user:alice\n", "user:alice\r\n", " user:alice", "user:.alice"]
)
def test_a_subject_must_be_exactly_a_principal_name(
    authenticate: TokenAuthenticator, idp_key: RsaKey, subject: str
) -> None:
    """A trailing newline once passed a "$" anchor and made "user:alice\\n" a second identity
    of alice, defeating the self-approval check."""
    with pytest.raises(Unauthenticated, match="user:<name> or service:<name>"):
        authenticate(bearer(idp_key.sign(claims(sub=subject))))
