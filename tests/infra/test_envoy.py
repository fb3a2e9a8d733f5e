"""deploy/envoy: both configs validated by a real envoy binary, and the loopback edge exercised.

The loopback test runs envoy-test.yaml in front of stub upstreams (the api on 127.0.0.1:18000, the
vop role on 18001) and proves
the edge half of issue 6's promise: a request without a token is refused, one with a valid token
reaches the upstream. The same test against the real api (instead of the stub) needs the JWT
verification of issue 5; see docs/operations.md.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.infra.tools import ENVOY_DIR, Tools

PROD = ENVOY_DIR / "envoy.yaml"
TEST = ENVOY_DIR / "envoy-test.yaml"
EDGE_PORT = 18080
UPSTREAM_PORT = 18000
VOP_UPSTREAM_PORT = 18001
ISSUER = "https://ledger.test/issuer"
AUDIENCE = "backoffice-ledger"


def openssl(*args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["openssl", *args], input=input, capture_output=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class SigningKey:
    path: Path
    kid: str

    def jwk(self) -> dict[str, str]:
        modulus = openssl("rsa", "-in", str(self.path), "-noout", "-modulus").decode()
        n = bytes.fromhex(modulus.strip().split("=", 1)[1])
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid, "n": b64url(n)}

    def token(self, **claims: object) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user:alice", "iat": now}
        payload["exp"] = now + 300
        payload.update(claims)
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (
            f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
        )
        signature = openssl(
            "dgst", "-sha256", "-sign", str(self.path), input=signing_input.encode()
        )
        return f"{signing_input}.{b64url(signature)}"


def new_key(directory: Path, kid: str) -> SigningKey:
    path = directory / f"{kid}.pem"
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(path))
    return SigningKey(path, kid)


def jwks(*keys: SigningKey) -> str:
    return json.dumps({"keys": [{**k.jwk(), "e": "AQAB"} for k in keys]})


def validate(tools: Tools, config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return tools.run(
        [tools.path("envoy"), "--mode", "validate", "-c", str(config), "--log-level", "warn"],
        env=tools.env(**env),
        timeout=60,
    )


def prod_config_with_test_cert(tmp_path: Path, text: str | None = None) -> Path:
    """envoy.yaml with only the certificate paths pointed at a fresh self-signed test cert."""
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
        "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    text = (text or PROD.read_text()).replace("/etc/envoy/tls/tls.crt", str(cert))
    text = text.replace("/etc/envoy/tls/tls.key", str(key))
    config = tmp_path / "envoy.yaml"
    config.write_text(text)
    return config


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningKey, SigningKey]:
    directory = tmp_path_factory.mktemp("jwt-keys")
    return new_key(directory, "ledger-test-1"), new_key(directory, "attacker")


# ---------------------------------------------------------------------------- validation


def test_production_config_is_valid(tools: Tools, tmp_path: Path) -> None:
    proc = validate(tools, prod_config_with_test_cert(tmp_path))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "OK" in output, output
    assert "Deprecated" not in output, output


def test_test_config_is_valid(tools: Tools, keys: tuple[SigningKey, SigningKey]) -> None:
    proc = validate(tools, TEST, LEDGER_EDGE_TEST_JWKS=jwks(keys[0]))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "OK" in output, output
    assert "Deprecated" not in output, output


def test_production_config_is_tls13_only(tools: Tools) -> None:
    (config,) = tools.yaml_to_json(PROD.read_text())
    (listener,) = config["static_resources"]["listeners"]
    for chain in listener["filter_chains"]:
        params = chain["transport_socket"]["typed_config"]["common_tls_context"]["tls_params"]
        assert params["tls_minimum_protocol_version"] == "TLSv1_3"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("tls_minimum_protocol_version: TLSv1_3", "tls_minimum_protocol_version: TLSv9"),
        ("requires: { provider_name: backoffice_idp }", "requires: { provider_name: nobody }"),
        ("cluster: ledger_api, timeout: 30s", "cluster: ledger_apy, timeout: 30s"),
        ("stat_prefix: edge_rate_limit\n", "stat_prefix: edge_rate_limit\n  bogus_field: 1\n"),
    ],
    ids=["tls-version", "unknown-provider", "unknown-cluster", "unknown-field"],
)
def test_broken_config_fails_validation(tools: Tools, tmp_path: Path, old: str, new: str) -> None:
    text = PROD.read_text()
    assert old in text
    proc = validate(tools, prod_config_with_test_cert(tmp_path, text.replace(old, new, 1)))
    assert proc.returncode != 0, proc.stdout + proc.stderr


def test_test_config_refuses_an_empty_jwks(tools: Tools) -> None:
    proc = validate(tools, TEST, LEDGER_EDGE_TEST_JWKS='{"keys": []}')
    assert proc.returncode != 0


def test_test_config_keeps_in_step_with_production(tools: Tools) -> None:
    """Same routes, JWT rules, RBAC policies and rate limit in both configs."""

    def http_parts(path: Path) -> dict:
        (config,) = tools.yaml_to_json(path.read_text())
        (listener,) = config["static_resources"]["listeners"]
        (chain,) = listener["filter_chains"]
        hcm = chain["filters"][0]["typed_config"]
        filters = {f["name"]: f.get("typed_config", {}) for f in hcm["http_filters"]}
        jwt = filters["envoy.filters.http.jwt_authn"]
        return {
            "routes": hcm["route_config"]["virtual_hosts"][0]["routes"],
            "filters": [f["name"] for f in hcm["http_filters"]],
            "jwt_rules": jwt["rules"],
            "audiences": jwt["providers"]["backoffice_idp"]["audiences"],
            "rbac": filters["envoy.filters.http.rbac"],
            "rate_limit": filters["envoy.filters.http.local_ratelimit"],
        }

    assert http_parts(TEST) == http_parts(PROD)


def rbac_roles(config: dict) -> dict[str, set[str]]:
    """Role names each RBAC policy admits, from the jwt_payload.roles matchers of its principals."""
    (listener,) = config["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    filters = chain["filters"][0]["typed_config"]["http_filters"]
    (rbac,) = [f for f in filters if f["name"] == "envoy.filters.http.rbac"]
    policies: dict[str, set[str]] = {}
    for name, policy in rbac["typed_config"]["rules"]["policies"].items():
        roles: set[str] = set()
        for principal in policy["principals"]:
            matcher = principal.get("sourced_metadata", {}).get("metadata_matcher")
            if matcher is None:
                continue
            assert [p["key"] for p in matcher["path"]] == ["jwt_payload", "roles"], name
            one_of = matcher["value"]["list_match"]["one_of"]
            matchers = one_of["or_match"]["value_matchers"] if "or_match" in one_of else [one_of]
            roles |= {m["string_match"]["exact"] for m in matchers}
        policies[name] = roles
    return policies


def role_name_problems(policies: dict[str, set[str]]) -> list[str]:
    """Envoy's RBAC against domain/identity/permissions.py: no unknown role, staff on GraphQL."""
    from domain.identity.permissions import HUMAN_ROLES, ROLE_PERMISSIONS

    problems = [
        f"{policy}: {role!r} is not in ROLE_PERMISSIONS"
        for policy, roles in sorted(policies.items())
        for role in sorted(roles - set(ROLE_PERMISSIONS))
    ]
    staff = policies.get("backoffice_staff_graphql", set())
    problems += [
        f"backoffice_staff_graphql: human role {r!r} missing" for r in HUMAN_ROLES if r not in staff
    ]
    problems += [
        f"backoffice_staff_graphql: {r!r} is not a person's role"
        for r in sorted(staff - set(HUMAN_ROLES))
    ]
    return problems


@pytest.mark.parametrize("config", [PROD, TEST], ids=["production", "test"])
def test_rbac_role_names_are_the_ledgers(tools: Tools, config: Path) -> None:
    (parsed,) = tools.yaml_to_json(config.read_text())
    policies = rbac_roles(parsed)
    assert policies["rest_clients"] and policies["backoffice_staff_graphql"], policies
    assert role_name_problems(policies) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("{ exact: channel }", "{ exact: channels }", "'channels' is not in ROLE_PERMISSIONS"),
        ("{ exact: compliance }", "{ exact: fraud_analyst }", "human role 'compliance' missing"),
        ("{ exact: viewer }", "{ exact: ingestion }", "'ingestion' is not a person's role"),
    ],
    ids=["unknown-role", "staff-role-missing", "service-on-graphql"],
)
def test_rbac_role_name_check_catches_a_drift(
    tools: Tools, old: str, new: str, problem: str
) -> None:
    text = PROD.read_text()
    assert old in text
    (parsed,) = tools.yaml_to_json(text.replace(old, new, 1))
    problems = role_name_problems(rbac_roles(parsed))
    assert any(problem in p for p in problems), problems


# ---------------------------------------------------------------------------- loopback edge


@dataclass
class Upstream:
    """Stubs of the api and vop roles: record what reached them (``upstream``: which one)."""

    seen: list[dict[str, str]] = field(default_factory=list)
    ready: bool = True
    """What the api stub's /readyz answers to the edge's active health check."""

    def paths(self, upstream: str | None = None) -> list[str]:
        return [s["path"] for s in self.seen if upstream is None or s["upstream"] == upstream]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def edge(tools: Tools, keys: tuple[SigningKey, SigningKey], tmp_path: Path) -> Iterator[Upstream]:
    for port in (EDGE_PORT, UPSTREAM_PORT, VOP_UPSTREAM_PORT):
        assert port_free(port), f"127.0.0.1:{port} is in use; the loopback edge test needs it"
    upstream = Upstream()

    class Handler(BaseHTTPRequestHandler):
        name = "api"

        def _answer(self) -> None:
            if self.headers.get("User-Agent") == "Envoy/HC":  # the edge's active health check
                self._health()
                return
            upstream.seen.append(
                {
                    "upstream": self.name,
                    "path": self.path,
                    "authorization": self.headers.get("Authorization", ""),
                }
            )
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _health(self) -> None:
            body = b'{"ready": true, "checks": {"database": "secret detail"}}'
            self.send_response(200 if upstream.ready else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    class VopHandler(Handler):
        name = "vop"

    servers = [
        ThreadingHTTPServer(("127.0.0.1", UPSTREAM_PORT), Handler),
        ThreadingHTTPServer(("127.0.0.1", VOP_UPSTREAM_PORT), VopHandler),
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    log = (tmp_path / "envoy.log").open("w")
    envoy = subprocess.Popen(
        [tools.path("envoy"), "-c", str(TEST), "--use-dynamic-base-id", "--log-level", "warn"],
        env=tools.env(LEDGER_EDGE_TEST_JWKS=jwks(keys[0])),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while port_free(EDGE_PORT):
            assert envoy.poll() is None, (tmp_path / "envoy.log").read_text()
            assert time.monotonic() < deadline, "envoy did not open its listener in 20 s"
            time.sleep(0.1)
        yield upstream
    finally:
        envoy.terminate()
        try:
            envoy.wait(timeout=10)
        except subprocess.TimeoutExpired:
            envoy.kill()
            envoy.wait(timeout=10)
        log.close()
        for server in servers:
            server.shutdown()
            server.server_close()


def call(path: str, token: str | None = None, method: str = "GET") -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{EDGE_PORT}{path}", method=method)
    if method == "POST":
        request.data = b'{"query": "{ __typename }"}'
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_edge_refuses_requests_without_a_valid_token(
    edge: Upstream, keys: tuple[SigningKey, SigningKey]
) -> None:
    good, attacker = keys
    assert call("/graphql", method="POST") == 401
    assert call("/v1/accounts") == 401
    assert call("/graphql", attacker.token(roles=["admin"]), "POST") == 401
    assert call("/graphql", good.token(roles=["admin"], exp=int(time.time()) - 3600), "POST") == 401
    # jwt_authn answers 403 (not 401) for a token of another audience.
    assert call("/graphql", good.token(roles=["admin"], aud="someone-else"), "POST") == 403
    assert call("/graphql", good.token(roles=["admin"], iss="https://evil.test"), "POST") == 401
    assert edge.seen == [], "a refused request reached the upstream"


def test_edge_lets_a_valid_token_through(
    edge: Upstream, keys: tuple[SigningKey, SigningKey]
) -> None:
    token = keys[0].token(roles=["operator"])
    assert call("/graphql", token, "POST") == 200
    assert call("/v1/accounts", token) == 200
    assert [s["path"] for s in edge.seen] == ["/graphql", "/v1/accounts"]
    # The token is forwarded: the api verifies it again and checks permissions itself.
    assert all(s["authorization"] == f"Bearer {token}" for s in edge.seen)


def test_edge_rbac_gates_by_role(edge: Upstream, keys: tuple[SigningKey, SigningKey]) -> None:
    channel = keys[0].token(roles=["channel"])
    assert call("/graphql", channel, "POST") == 403  # GraphQL is for backoffice staff
    assert call("/v1/transactions", channel) == 200
    assert call("/v1/transactions", keys[0].token(roles=["intruder"])) == 403
    assert call("/v1/transactions", keys[0].token()) == 403  # no roles claim at all
    assert [s["path"] for s in edge.seen] == ["/v1/transactions"]


def test_edge_publishes_only_health_without_a_token(
    edge: Upstream, keys: tuple[SigningKey, SigningKey]
) -> None:
    assert call("/healthz") == 200
    assert call("/healthz", method="POST") == 403
    # Unpublished paths: RBAC has no policy for them (403) before the router's 404.
    token = keys[0].token(roles=["admin"])
    assert call("/metrics", token) == 403
    assert call("/readyz", method="POST") == 401
    assert call("/metrics") == 401
    assert [s["path"] for s in edge.seen] == ["/healthz"]


def wait_for_readyz(status: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while (got := call("/readyz")) != status:
        assert time.monotonic() < deadline, f"/readyz stayed {got}, never {status}"
        time.sleep(0.2)


def test_edge_readyz_follows_the_api_s_deep_readiness(edge: Upstream) -> None:
    """GET /readyz (Route 53's health check) needs no token and is answered by the edge from its
    active health check of the api's own /readyz: 503 once the api is unready, 200 again once it
    is ready, never with the api's details, and no request of a client reaches the api for it."""
    wait_for_readyz(200)
    request = urllib.request.Request(f"http://127.0.0.1:{EDGE_PORT}/readyz")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert b"secret detail" not in response.read()
    edge.ready = False
    wait_for_readyz(503)
    edge.ready = True
    wait_for_readyz(200)
    assert edge.seen == []


def test_edge_admits_only_vop_requesters_to_the_vop_route(
    edge: Upstream, keys: tuple[SigningKey, SigningKey]
) -> None:
    """The responder ``/v1/vop/payee-verifications`` goes to the vop role, for the service role
    ``vop_requester`` (other PSPs) and only with POST; that role reaches nothing else, and no
    other role reaches it."""
    psp = keys[0].token(roles=["vop_requester"], sub="service:bankfrpp")
    path = "/v1/vop/payee-verifications"
    assert call(path, psp, "POST") == 200
    assert call(f"{path}/bulk", psp, "POST") == 200
    assert call(path, psp) == 403  # GET
    assert call("/v1/transactions", psp) == 403
    assert call("/v1/vop/checks", psp, "POST") == 403  # the requester side is not theirs
    assert call("/graphql", psp, "POST") == 403
    for role in ("channel", "admin", "operator"):
        assert call(path, keys[0].token(roles=[role]), "POST") == 403, role
    assert call(path, method="POST") == 401
    assert edge.paths("vop") == [path, f"{path}/bulk"]
    assert edge.paths("api") == []


def test_edge_sends_the_vop_requester_route_to_the_api(
    edge: Upstream, keys: tuple[SigningKey, SigningKey]
) -> None:
    """``POST /v1/vop/checks`` (a channel asking another PSP about a payee) is the api role's:
    a channel's token gets through to the api upstream, not to the vop role."""
    channel = keys[0].token(roles=["channel"], sub="service:app")
    assert call("/v1/vop/checks", channel, "POST") == 200
    assert call("/v1/vop/checks", keys[0].token(roles=["vop_requester"]), "POST") == 403
    assert call("/v1/vop/checks/../other", channel, "POST") == 403  # normalised: /v1/vop/other
    assert call("/v1/vop/anything", channel, "POST") == 403  # nothing else of the vop role's
    assert edge.paths("api") == ["/v1/vop/checks"]
    assert edge.paths("vop") == []
