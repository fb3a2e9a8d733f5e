"""The development pages in a real browser with no network: /docs and /graphql render from
the application's own assets, and GraphiQL runs a query with a bearer token.

``ledger serve`` runs on a free loopback port (SQLite under a temporary directory, a user
``alice`` provisioned, her token from ``ledger token``); Chromium (tests/e2e/cdp.py) can
reach nothing but 127.0.0.1. Each test asserts that every request the page made went to the
server and succeeded, that no Content-Security-Policy violation and no uncaught exception
happened, and that the page did its job.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.broker.support import wait_until
from tests.e2e.cdp import Page, offline_chromium

# No skip without chromium: make test installs it (scripts/install-browser.sh), and a
# missing browser fails in offline_chromium with that hint.
pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Server:
    base: str
    token: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ledger(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.stdout.strip()


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("ledger")
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEDGER_")}
    env.update(
        LEDGER_DATA_DIR=str(data_dir),
        LEDGER_HOST="127.0.0.1",
        LEDGER_PORT=str(port),
        LEDGER_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    _ledger(env, "migrate")  # `ledger serve` runs no DDL
    _ledger(env, "users", "bootstrap", "--user", "alice", "--roles", "admin")
    token = _ledger(env, "token", "--user", "alice", "--roles", "admin", "--ttl", "1h")
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or _up(base), 90, "ledger serve to start")
        assert process.poll() is None, "ledger serve exited"
        yield Server(base, token)
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with offline_chromium(tmp_path / "profile") as tab:
        yield tab


def _outside(page: Page, server: Server) -> list[str]:
    """Requests to anywhere but the server (data: URIs are no request to anyone)."""
    return [url for url in page.log.requests if not url.startswith((f"{server.base}/", "data:"))]


def _assert_only_the_server_was_asked(page: Page, server: Server) -> None:
    log = page.log
    outside = _outside(page, server)
    assert outside == [], "the page asked for something outside the server"
    assert log.failed == []
    assert {url: status for url, status in log.statuses.items() if status >= 400} == {}
    assert page.csp_violations() == []
    assert log.exceptions == []


INJECT_INLINE_CODE = """
(() => {
  const script = document.createElement("script");
  script.textContent = "window.__inlineScriptRan = true";
  document.head.appendChild(script);
  const style = document.createElement("style");
  style.textContent = "body { outline: 7px solid red }";
  document.head.appendChild(style);
  return [window.__inlineScriptRan === true, getComputedStyle(document.body).outlineWidth];
})()
"""


def _assert_inline_code_is_refused(page: Page) -> None:
    """The page's policy is in force: an inline script does not run, an inline style does
    not apply, and both are reported as violations."""
    ran, outline = page.evaluate(INJECT_INLINE_CODE)
    assert ran is False
    assert outline != "7px"
    violations = page.wait_for("window.__cspViolations.length >= 2 && window.__cspViolations")
    assert [v.split()[0] for v in violations] == ["script-src-elem", "style-src-elem"]


def test_the_api_description_renders_its_operations_from_local_assets(
    page: Page, server: Server
) -> None:
    page.navigate(f"{server.base}/docs")
    operations = page.wait_for(
        "Array.from(document.querySelectorAll('.opblock-summary-path'),"
        " e => e.textContent.replace(/\\u200b/g, ''))",
        60,
        "swagger-ui to list the operations",
    )
    assert "/v1/transactions" in operations
    assert any(path.startswith("/v1/accounts/") for path in operations)
    assert page.evaluate("document.querySelector('.info .title').textContent").startswith(
        "backoffice-ledger"
    )
    assert f"{server.base}/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in page.log.requests
    assert f"{server.base}/openapi.json" in page.log.requests
    _assert_only_the_server_was_asked(page, server)
    assert page.log.console_errors == []
    _assert_inline_code_is_refused(page)


QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror')"
HEADERS_EDITOR = (
    "Array.from(document.querySelectorAll('.graphiql-editor-tool .graphiql-editor'))"
    ".find(e => !e.classList.contains('hidden'))"
)
RESULT = "(document.querySelector('.result-window .CodeMirror') || {CodeMirror: null})"


def _run_query(page: Page) -> str:
    """Press GraphiQL's run button and wait for a new result."""
    page.evaluate(f"{RESULT}.CodeMirror && {RESULT}.CodeMirror.setValue('')")
    page.evaluate("document.querySelector('.graphiql-execute-button').click()")
    return str(
        page.wait_for(
            f"{RESULT}.CodeMirror && {RESULT}.CodeMirror.getValue()", 30, "a result in GraphiQL"
        )
    )


def test_graphiql_renders_from_local_assets_and_runs_a_query_with_a_token(
    page: Page, server: Server
) -> None:
    page.navigate(f"{server.base}/graphql")
    page.wait_for(f"!!({QUERY_EDITOR} && {QUERY_EDITOR}.CodeMirror)", 60, "GraphiQL's query editor")
    assert f"{server.base}/static/vendor/graphiql/graphiql.min.js" in page.log.requests
    query = "{ users(first: 5) { edges { node { name } } } }"
    page.evaluate(f"{QUERY_EDITOR}.CodeMirror.setValue({json.dumps(query)})")
    # Without a token the API refuses the query, and GraphiQL shows the refusal.
    refused = _run_query(page)
    assert "missing bearer token" in refused
    assert "alice" not in refused
    # The token goes into GraphiQL's Headers tab, as a person would put it there.
    page.evaluate(
        "Array.from(document.querySelectorAll('button'))"
        ".find(b => b.textContent.trim() === 'Headers').click()"
    )
    page.wait_for(f"!!({HEADERS_EDITOR} && {HEADERS_EDITOR}.querySelector('.CodeMirror'))")
    headers = json.dumps({"Authorization": f"Bearer {server.token}"})
    page.evaluate(
        f"{HEADERS_EDITOR}.querySelector('.CodeMirror').CodeMirror.setValue({json.dumps(headers)})"
    )
    answered = _run_query(page)
    assert '"name": "alice"' in answered, answered
    # the page kept the token to itself: not in the URL, not in the browser's storage
    assert server.token not in page.evaluate("location.href")
    assert server.token not in page.evaluate("JSON.stringify(Object.entries(localStorage))")
    graphql_posts = [url for url in page.log.requests if url == f"{server.base}/graphql"]
    assert len(graphql_posts) >= 3  # the page, the refused query, the answered one
    # The refused query is a 401 the test caused on purpose; everything else succeeded.
    statuses = {url: s for url, s in page.log.statuses.items() if url != f"{server.base}/graphql"}
    assert {url: s for url, s in statuses.items() if s >= 400} == {}
    assert _outside(page, server) == []
    assert page.log.failed == []
    assert page.csp_violations() == []
    assert page.log.exceptions == []
    _assert_inline_code_is_refused(page)
