"""The body size middleware at the ASGI level: what reaches the app, what is refused, and how
much of a refused body is read."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from api.http.middleware.body_limit import BodySizeLimitMiddleware

LIMIT = 100


class Recorder:
    """The app below the middleware: records the messages it received, answers 200."""

    def __init__(self) -> None:
        self.called = False
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        while True:
            message = await receive()
            self.received.append(message)
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def run(
    chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[Recorder, list[dict[str, Any]], int]:
    """Send ``chunks`` as the body; return the app, the messages sent out, chunks read."""
    app = Recorder()
    sent: list[dict[str, Any]] = []
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read >= len(chunks):
            return {"type": "http.disconnect"}
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/transactions", "headers": headers or []}
    asyncio.run(BodySizeLimitMiddleware(app, LIMIT)(scope, receive, send))
    return app, sent, read


def answer(sent: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    start, body = sent
    assert (b"content-type", b"application/json") in start["headers"]
    return int(start["status"]), json.loads(body["body"])


def test_a_declared_length_above_the_limit_is_refused_unread() -> None:
    app, sent, read = run([b"x" * 101], [(b"content-length", b"101")])
    assert answer(sent) == (
        413,
        {"detail": "request body is larger than the limit of 100 bytes"},
    )
    assert read == 0
    assert not app.called


def test_a_chunked_body_is_counted_and_refused_once_past_the_limit() -> None:
    app, sent, read = run([b"x" * 40, b"x" * 40, b"x" * 40, b"x" * 40])
    assert answer(sent)[0] == 413
    assert read == 3  # stopped at the chunk that passed the limit
    assert not app.called


def test_a_body_understating_its_length_is_still_bounded() -> None:
    app, sent, _read = run([b"x" * 60, b"x" * 60], [(b"content-length", b"60")])
    assert answer(sent)[0] == 413
    assert not app.called


@pytest.mark.parametrize(
    ("chunks", "headers"),
    [
        ([b"x" * 100], [(b"content-length", b"100")]),
        ([b"x" * 50, b"y" * 50], []),
        ([b""], []),
    ],
    ids=["declared, exactly the limit", "chunked, exactly the limit", "empty"],
)
def test_bodies_within_the_limit_reach_the_app_whole(
    chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> None:
    app, sent, _read = run(chunks, headers)
    assert app.received == [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
    assert sent[0]["status"] == 200


@pytest.mark.parametrize("value", [b"ten", b"-1", b"1e3", "\u00b2".encode("latin-1")])
def test_a_content_length_that_is_no_number_is_400(value: bytes) -> None:
    app, sent, _read = run([b"x"], [(b"content-length", value)])
    assert answer(sent) == (400, {"detail": "Content-Length must be a non-negative integer"})
    assert not app.called


def test_a_client_that_leaves_gets_no_answer() -> None:
    app, sent, _read = run([])
    assert sent == []
    assert not app.called


def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Any, _receive: Any, _send: Any) -> None:
        seen.append(scope["type"])

    async def nothing() -> dict[str, Any]:
        raise AssertionError("must not read")

    async def ignore(_message: Any) -> None:
        raise AssertionError("must not send")

    asyncio.run(BodySizeLimitMiddleware(app, LIMIT)({"type": "lifespan"}, nothing, ignore))
    assert seen == ["lifespan"]


def test_a_limit_below_one_byte_is_refused() -> None:
    with pytest.raises(ValueError):
        BodySizeLimitMiddleware(Recorder(), 0)
