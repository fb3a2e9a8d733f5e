"""Refuse request bodies above a size limit with ``413 {"detail": ...}`` (pure ASGI).

A declared ``Content-Length`` above the limit is refused before a byte of the body is read.
Without one (``Transfer-Encoding: chunked``) the body is read here, chunk by chunk, and refused
as soon as the count passes the limit. Either way the application below only ever sees a
complete body within the limit: it is read here first (at most ``max_bytes`` of it, which the
routes would read in full anyway) and handed on as one message. That also bounds a body whose
``Content-Length`` understates it.

It is plain ASGI rather than ``BaseHTTPMiddleware``, which would buffer the response and
runs the app in a separate task.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodySizeLimitMiddleware:
    """413 for bodies above ``max_bytes``; 400 for a ``Content-Length`` that is no number."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes}")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                await _refuse(send, 400, "Content-Length must be a non-negative integer")
                return
            if int(declared) > self.max_bytes:
                await _refuse(send, 413, self._too_large())
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect: nobody to answer
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _refuse(send, 413, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    def _too_large(self) -> str:
        return f"request body is larger than the limit of {self.max_bytes} bytes"


def _content_length(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            return str(value.decode("latin-1").strip())
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then whatever the server says next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
