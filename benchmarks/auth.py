"""``python -m benchmarks.auth [--quick]``: what authentication costs per request.

Reported per request, p50 and p99, on this machine:

* verifying a token: ES256 (the local issuer's key) and RS256 (2048-bit, as identity
  providers usually sign) — signature, algorithm, issuer, audience, expiry;
* authenticating a person: the verification plus the identity-context lookup, cached for two
  seconds (the steady state) and uncached (every lookup reads the user's events);
* a REST read (``GET /v1/accounts/{iban}``) through the whole app with a real token, and the
  same read with the principal injected, so the difference is what authentication adds.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm
from rich.console import Console
from rich.table import Table

from adapters.auth.local_issuer import LocalIssuer
from adapters.auth.tokens import JwksFile, TokenVerifier
from api.security import CachedDirectory, Principal, TokenAuthenticator
from benchmarks.environment import machine_description


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    for _ in range(min(50, repeat)):
        action()  # warm up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


class _Request:
    def __init__(self, token: str) -> None:
        self.headers = {"authorization": f"Bearer {token}"}


def verification_rows(directory: Path, repeat: int) -> list[tuple[str, list[float]]]:
    issuer = LocalIssuer(directory / "auth", "bench-issuer", "bench-audience")
    es256 = issuer.issue("user:alice", ["viewer"], 3600)
    es_verifier = TokenVerifier(
        JwksFile(issuer.jwks_path), issuer="bench-issuer", audience="bench-audience"
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="rsa-1", alg="RS256")
    rsa_path = directory / "rsa-jwks.json"
    rsa_path.write_text(json.dumps({"keys": [jwk]}))
    import jwt

    now = int(time.time())
    rs256 = jwt.encode(
        {
            "iss": "bench-issuer",
            "aud": "bench-audience",
            "sub": "user:alice",
            "roles": ["viewer"],
            "iat": now,
            "exp": now + 3600,
        },
        key,
        algorithm="RS256",
        headers={"kid": "rsa-1"},
    )
    rs_verifier = TokenVerifier(
        JwksFile(rsa_path), issuer="bench-issuer", audience="bench-audience"
    )
    return [
        ("verify ES256 token", timed(lambda: es_verifier.verify(es256), repeat)),
        ("verify RS256 token", timed(lambda: rs_verifier.verify(rs256), repeat)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.auth", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5_000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    args_list = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(args_list)
    repeat = 50 if args.quick else args.repeat
    started = time.perf_counter()
    rows: list[tuple[str, list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="ledger-bench-auth-") as tmp:
        rows += verification_rows(Path(tmp), repeat)
        rows += app_rows(Path(tmp) / "app", max(20, repeat // 5))
    console = Console()
    machine = Table(title="Machine", show_header=False)
    for key, value in machine_description():
        machine.add_row(key, value)
    machine.add_row("command", "python -m benchmarks.auth " + shlex.join(args_list))
    machine.add_row("wall time", f"{time.perf_counter() - started:.0f} s")
    console.print(machine)
    table = Table(title="authentication cost per request")
    for column in ("what", "samples", "p50 ms", "p99 ms"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for name, samples in rows:
        table.add_row(
            name,
            str(len(samples)),
            f"{percentile(samples, 50):.3f}",
            f"{percentile(samples, 99):.3f}",
        )
    console.print(table)
    return 0


def app_rows(data_dir: Path, repeat: int) -> list[tuple[str, list[float]]]:
    """The identity lookup and a REST read through the app, with and without a real token."""
    from api.http.app import create_app
    from api.runtime.bootstrap import bootstrap
    from api.runtime.settings import Settings
    from domain.causation import Causation, caused_by

    settings = Settings(data_dir=data_dir)
    container = bootstrap(settings)
    try:
        identity = getattr(container, "identity", None)
        if identity is None:
            return []
        with caused_by(Causation("service:bench", "bench", "CLI")):
            identity.provision_user("alice", frozenset({"viewer", "operator"}))
            account = container.ledger.open_account(_open_command())
        container.projector.catch_up()
        issuer = LocalIssuer(
            settings.auth.local_keys_dir(data_dir), settings.auth.issuer, settings.auth.audience
        )
        token = issuer.issue("user:alice", ["viewer"], 3600)
        verifier = TokenVerifier(
            JwksFile(issuer.jwks_path), issuer=settings.auth.issuer, audience=settings.auth.audience
        )
        uncached = TokenAuthenticator(verifier, identity)
        cached = TokenAuthenticator(verifier, CachedDirectory(lambda: identity))
        request = _Request(token)
        rows = [
            ("authenticate a person, lookup cached", timed(lambda: cached(request), repeat * 5)),
            ("authenticate a person, lookup uncached", timed(lambda: uncached(request), repeat)),
        ]
        path = f"/v1/accounts/{account.key}"
        headers = {"authorization": f"Bearer {token}"}
        with TestClient(create_app(container)) as client:
            assert client.get(path, headers=headers).status_code == 200
            rows.append(
                (
                    "GET account, real token",
                    timed(lambda: client.get(path, headers=headers), repeat),
                )
            )
        viewer = Principal("user:alice", frozenset({"viewer"}))
        with TestClient(create_app(container, principal_resolver=lambda _r: viewer)) as client:
            rows.append(
                ("GET account, principal injected", timed(lambda: client.get(path), repeat))
            )
        return rows
    finally:
        container.close()


def _open_command() -> object:
    from api.presentation import open_account_command

    return open_account_command("DE89370400440532013000", "Bench", "EUR", None)


if __name__ == "__main__":
    raise SystemExit(main())
