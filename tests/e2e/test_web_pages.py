"""The development pages and the Content-Security-Policy of every response, over HTTP.

The pages reference only the application's own ``/static`` files, each with an SRI
``integrity`` that the served bytes match, contain no inline code, and carry a policy that
allows only the application's origin; every other response carries ``default-src 'none'``.
(tests/e2e/test_browser_pages.py shows the same pages working in a real browser.)
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.web_pages import API_CSP, PAGE_CSP
from api.runtime.bootstrap import Container
from api.runtime.settings import Settings

ASSET = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"[^>]*?integrity="([^"]+)"')


@pytest.fixture
def anonymous(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as client:
        yield client


def _pages(client: TestClient) -> dict[str, str]:
    docs = client.get("/docs")
    graphiql = client.get("/graphql", headers={"accept": "text/html"})
    for page in (docs, graphiql):
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == PAGE_CSP
        assert page.headers["x-content-type-options"] == "nosniff"
    return {"/docs": docs.text, "/graphql": graphiql.text}


def test_the_pages_load_only_local_assets_whose_bytes_match_their_integrity(
    anonymous: TestClient,
) -> None:
    for path, html in _pages(anonymous).items():
        assets = ASSET.findall(html)
        assert len(assets) == html.count("<script") + html.count('rel="stylesheet"'), path
        assert assets, path
        for url, sri in assets:
            assert url.startswith("/static/"), (path, url)
            served = anonymous.get(url)
            assert served.status_code == 200, url
            digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
            assert sri == f"sha384-{digest}", url
        assert "://" not in html, path  # no absolute URL: nothing from another origin


def test_the_pages_have_no_inline_code(anonymous: TestClient) -> None:
    for path, html in _pages(anonymous).items():
        assert "<style" not in html, path
        assert " style=" not in html, path
        assert re.search(r"<script\b[^>]*>\s*[^<\s]", html) is None, path  # empty bodies only
        assert re.search(r"\son[a-z]+=", html) is None, path  # no event handler attributes


def test_the_page_policy_allows_only_the_applications_own_origin() -> None:
    directives = dict(d.split(" ", 1) for d in PAGE_CSP.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in PAGE_CSP
    assert all("http" not in sources for sources in directives.values())


def test_every_other_response_carries_the_strict_policy(anonymous: TestClient) -> None:
    for response in (
        anonymous.get("/healthz"),
        anonymous.get("/openapi.json"),
        anonymous.get("/v1/accounts/DE89370400440532013000"),  # 401
        anonymous.post("/graphql", json={"query": "{ __typename }"}),  # 401
        anonymous.get("/no/such/route"),  # 404
        anonymous.get("/static/graphiql.js"),
    ):
        assert response.headers["content-security-policy"] == API_CSP, response.url
        assert response.headers["x-content-type-options"] == "nosniff", response.url


def test_production_serves_neither_the_pages_nor_their_assets(
    container: Container, settings: Settings
) -> None:
    container.settings = settings.updated(
        env="production",
        auth=replace(settings.auth, jwks_file=settings.data_dir / "none.json"),
    )
    with TestClient(create_app(container)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/static/graphiql.js").status_code == 404
        assert client.get("/static/vendor/manifest.json").status_code == 404
        graphiql = client.get("/graphql", headers={"accept": "text/html"})
        assert "graphiql" not in graphiql.text.lower()
        assert client.get("/healthz").headers["content-security-policy"] == API_CSP


def test_static_files_are_one_route_in_the_metrics(anonymous: TestClient) -> None:
    assert anonymous.get("/static/graphiql.js").status_code == 200
    assert anonymous.get("/static/no/such/file.js").status_code == 404
    metrics = anonymous.get("/metrics").text
    assert 'ledger_http_requests_total{method="GET",route="/static",status="200"} 1.0' in metrics
    assert 'ledger_http_requests_total{method="GET",route="/static",status="404"} 1.0' in metrics
    assert "file.js" not in metrics
