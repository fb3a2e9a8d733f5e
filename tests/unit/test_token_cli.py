"""``ledger token`` and ``ledger permissions``."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from adapters.auth.tokens import JwksFile, TokenVerifier
from api.cli.main import main
from api.cli.token import duration, permission_matrix

SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str, **env: str
) -> tuple[int, str, str]:
    code = main(list(argv), {"LEDGER_DATA_DIR": str(tmp_path), **env})
    out, err = capsys.readouterr()
    return code, out.strip(), err


def test_token_prints_a_token_the_api_verifier_accepts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, token, _ = run(
        capsys, tmp_path, "token", "--user", "Alice", "--roles", "admin,auditor", "--ttl", "15m"
    )
    assert code == 0
    verifier = TokenVerifier(
        JwksFile(tmp_path / "auth" / "jwks.json"),
        issuer="backoffice-ledger-local",
        audience="backoffice-ledger",
    )
    verified = verifier.verify(token)
    assert verified.subject == "user:alice"
    assert verified.roles == frozenset({"admin", "auditor"})
    assert abs(verified.expires_at - (time.time() + 900)) < 5


def test_service_tokens_carry_service_roles(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["token", "--service", "mobile", "--roles", "channel", "--channels", "mobile,web"]
    code, token, _ = run(capsys, tmp_path, *argv)
    assert code == 0
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["roles"]) == ("service:mobile", ["channel"])
    assert claims["channels"] == ["MOBILE", "WEB"]
    assert claims["exp"] - claims["iat"] == 24 * 3600


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--user", "alice", "--roles", "channel"], "roles for people are"),
        (["--service", "mobile", "--roles", "channel"], "needs --channels"),
        (["--user", "alice", "--roles", "viewer", "--channels", "MOBILE"], "channel services only"),
        (["--service", "mobile", "--roles", "admin"], "roles for services are"),
        (["--user", "alice", "--roles", "superuser"], "roles for people are"),
        (["--user", "al ice", "--roles", "admin"], "invalid name"),
        (["--user", "alice", "--roles", "admin", "--ttl", "2d"], "at most 24h"),
    ],
)
def test_token_refuses_what_the_api_would_refuse(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, tmp_path, "token", *argv)
    assert code == 2
    assert out == ""
    assert message in err


def test_token_is_for_development_only(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys,
        tmp_path,
        "token",
        "--user",
        "alice",
        "--roles",
        "admin",
        LEDGER_AUTH_JWKS_URL="https://idp.example.com/certs",
    )
    assert (code, out) == (2, "")
    assert "development only" in err
    assert not (tmp_path / "auth").exists()


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("8h", 28800), ("1d", 86400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert duration(text) == seconds


def test_the_security_doc_shows_the_permission_matrix_of_the_code() -> None:
    assert permission_matrix() in SECURITY_DOC.read_text(encoding="utf-8")


def test_token_warns_when_the_identity_context_would_refuse_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, token, err = run(capsys, tmp_path, "token", "--user", "zoe", "--roles", "viewer")
    assert code == 0 and token  # printed anyway: the store may be another one
    assert "zoe is not registered here" in err
    assert run(capsys, tmp_path, "users", "bootstrap", "--user", "zoe", "--roles", "viewer")[0] == 0
    code, token, err = run(capsys, tmp_path, "token", "--user", "zoe", "--roles", "viewer,auditor")
    assert code == 0 and token
    assert "zoe has not been granted auditor (granted: viewer)" in err
    code, _token, err = run(capsys, tmp_path, "token", "--user", "zoe", "--roles", "viewer")
    assert (code, err) == (0, "")
