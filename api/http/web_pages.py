"""The browser pages of development (GraphiQL at ``/graphql``, the API description at
``/docs``), their assets, and the Content-Security-Policy of every response.

The pages' JavaScript and CSS are served by the application itself under ``/static``, never
from a CDN: on a network without internet a CDN page renders nothing, and a CDN's script runs
in a page that holds a bearer token. The third-party files under ``api/http/static/vendor`` come
from pinned npm packages (``scripts/vendor-web-assets.py`` checks each tarball's sha512 and
records every file's sha256 and SRI in ``api/http/static/vendor/manifest.json``); the pages
reference each file with that SRI as its ``integrity``, so a file changed after the build is
refused by the browser. The pages' own bootstrap scripts are static files too, so that the
pages' policy can be ``script-src 'self'`` and ``style-src 'self'`` (no inline code at all).

Every other response carries ``default-src 'none'; frame-ancestors 'none'``: JSON needs no
policy to render, and a response opened in a browser can then run nothing and be framed by
nobody. Production serves neither page nor ``/static`` (:mod:`api.http.app`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from html import escape
from pathlib import Path
from types import SimpleNamespace

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.graphql.http import StrictGraphQLRouter

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/static"
VENDOR_MANIFEST = STATIC_DIR / "vendor" / "manifest.json"

PAGE_CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # the vendored stylesheets' icons are data: URIs
        "font-src 'self' data:",  # GraphiQL's fonts are data: URIs in its stylesheet
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""The policy of the two HTML pages: everything from this origin only, no inline code."""

API_CSP = "default-src 'none'; frame-ancestors 'none'"
"""The policy of every other response (JSON, metrics, static files)."""

GRAPHIQL_ASSETS = (
    "vendor/graphiql/graphiql.min.css",
    "vendor/graphiql-plugin-explorer/style.css",
    "graphiql.css",
    "vendor/react/react.production.min.js",
    "vendor/react-dom/react-dom.production.min.js",
    "vendor/graphiql/graphiql.min.js",
    "vendor/graphiql-plugin-explorer/index.umd.js",
    "graphiql.js",
)
SWAGGER_ASSETS = (
    "vendor/swagger-ui-dist/swagger-ui.css",
    "vendor/swagger-ui-dist/swagger-ui-bundle.js",
    "swagger.js",
)


@functools.cache
def vendor_manifest() -> dict[str, dict[str, str]]:
    """The build-time hashes of the vendored files, by path under ``static/vendor``."""
    files: dict[str, dict[str, str]] = json.loads(VENDOR_MANIFEST.read_text())["files"]
    return files


@functools.cache
def integrity(relative: str) -> str:
    """The SRI of a file under ``static/``: a vendored file's from the manifest (the hash
    checked when it was vendored), the project's own files' from their bytes."""
    if relative.startswith("vendor/"):
        return vendor_manifest()[relative.removeprefix("vendor/")]["sri"]
    digest = hashlib.sha384((STATIC_DIR / relative).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def _tags(root_path: str, assets: tuple[str, ...]) -> str:
    lines = []
    for relative in assets:
        url = escape(f"{root_path}{STATIC_PATH}/{relative}")
        sri = escape(integrity(relative))
        if relative.endswith(".css"):
            lines.append(f'<link rel="stylesheet" href="{url}" integrity="{sri}">')
        else:
            lines.append(f'<script src="{url}" integrity="{sri}" defer></script>')
    return "\n    ".join(lines)


def _page(title: str, root_path: str, assets: tuple[str, ...], body: str) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <title>{escape(title)}</title>
    <link rel="icon" href="data:,">
    {_tags(root_path, assets)}
  </head>
  <body>
    {body}
  </body>
</html>
"""
    return HTMLResponse(html, headers={"content-security-policy": PAGE_CSP})


def graphiql_page(request: Request) -> HTMLResponse:
    root_path = str(request.scope.get("root_path", ""))
    endpoint = escape(request.url.path)  # the page is served where queries are posted
    return _page(
        "backoffice-ledger GraphiQL",
        root_path,
        GRAPHIQL_ASSETS,
        f'<div id="graphiql" data-endpoint="{endpoint}">Loading…</div>',
    )


def swagger_page(request: Request, openapi_url: str) -> HTMLResponse:
    root_path = str(request.scope.get("root_path", ""))
    spec = escape(f"{root_path}{openapi_url}")
    return _page(
        "backoffice-ledger API",
        root_path,
        SWAGGER_ASSETS,
        f'<div id="swagger-ui" data-openapi-url="{spec}"></div>',
    )


class _StaticAssets(StaticFiles):
    """StaticFiles that names its mount as the matched route, so that the metrics and the
    access log say ``/static`` (one series) rather than ``unmatched``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = SimpleNamespace(path=STATIC_PATH)
        await super().__call__(scope, receive, send)


class LedgerGraphQLRouter(StrictGraphQLRouter):
    """The strict-JSON GraphQL router with GraphiQL from :func:`graphiql_page` (local assets, CSP)
    instead of strawberry's template (assets from unpkg.com, inline script)."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql_page(request)


def install_pages(app: FastAPI, openapi_url: str) -> None:
    """``/static`` and ``/docs`` (development only: the caller decides)."""
    app.mount(STATIC_PATH, _StaticAssets(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        return swagger_page(request, openapi_url)


class SecurityHeadersMiddleware:
    """Adds :data:`API_CSP` (unless the response set its own policy) and ``nosniff`` to
    every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", API_CSP)
                headers.setdefault("x-content-type-options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_headers)
