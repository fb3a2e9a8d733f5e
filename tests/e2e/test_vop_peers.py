"""The requester's HTTP adapter against hostile or slow PSPs: whatever another PSP replies
(wrong types, deep nesting, too many bytes, a trickle), the answer is None (the requester's
NOAP ``PSP_UNAVAILABLE``) and the call ends; never an exception out of ``ask``."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from adapters.vop.peers import HttpPayeePsps, read_answer
from adapters.vop.routes import parse_routes
from application.vop.ports import PeerAnswer, PeerQuestion
from tests.builders import iban

PAYEE = iban("NL")


def question() -> PeerQuestion:
    return PeerQuestion(
        request_id="5b0f7a52-1f0b-5f43-9d8e-0c4b1f7a6e21",
        requested_at=datetime(2026, 1, 2, tzinfo=UTC),
        iban=PAYEE,
        name="Jan de Vries",
        identifier=None,
        payee_bic=None,
    )


def psps(
    base: str,
    transport: httpx.BaseTransport | None = None,
    timeout_seconds: float = 5.0,  # generous: a loaded machine must not turn answers into NOAP
    **extra: object,
) -> HttpPayeePsps:
    return HttpPayeePsps(
        parse_routes(f"iban:NL={base}"),
        "LEDGDEFFXXX",
        token="t0ken",
        timeout_seconds=timeout_seconds,
        transport=transport,
        **extra,  # type: ignore[arg-type]
    )


def answering(body: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: streamed(body))


def streamed(body: bytes) -> httpx.Response:
    """A reply read from the wire (the adapter reads the raw stream)."""
    return httpx.Response(200, stream=httpx.ByteStream(body))


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"partyNameMatch": ["MTCH"]}).encode(),  # unhashable: was a TypeError
        json.dumps({"partyNameMatch": {"x": 1}}).encode(),
        json.dumps({"partyNameMatch": "CMTC", "matchedName": "Jan\u202eseirV ed"}).encode(),
        json.dumps({"partyNameMatch": "CMTC", "matchedName": "Jan\u200bde Vries"}).encode(),
        b"[" * 100_000,  # was a RecursionError; now also beyond the size cap
        b"\xff\xfe",
        json.dumps({"partyNameMatch": "MTCH", "pad": "x" * 20_000}).encode(),  # too big
        b"",
    ],
)
def test_a_hostile_answer_is_no_answer(body: bytes) -> None:
    peers = psps("http://127.0.0.1:9", answering(body))
    try:
        assert peers.ask(question()) is None
    finally:
        peers.close()


def test_reading_survives_any_bytes() -> None:
    assert read_answer(b"[" * 100_000) is None  # nesting too deep for the parser
    assert read_answer(b'{"partyNameMatch": ["MTCH"]}') is None
    assert read_answer(b'{"partyNameMatch": "MTCH"}') == PeerAnswer("MTCH")


def test_what_is_sent_and_a_plain_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return streamed(b'{"partyNameMatch": "CMTC", "matchedName": "Jan Vries"}')

    peers = psps("http://127.0.0.1:9", httpx.MockTransport(handler))
    try:
        assert peers.ask(question()) == PeerAnswer("CMTC", matched_name="Jan Vries")
    finally:
        peers.close()
    (sent,) = seen
    assert sent.headers["X-Request-ID"] == question().request_id
    assert sent.headers["Authorization"] == "Bearer t0ken"
    assert sent.headers["Accept-Encoding"] == "identity"


def test_calls_beyond_the_cap_are_not_queued() -> None:
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["X-Request-ID"])
        entered.set()
        release.wait(10)
        return streamed(b'{"partyNameMatch": "MTCH"}')

    peers = psps("http://127.0.0.1:9", httpx.MockTransport(handler), max_concurrent=1)
    results: list[PeerAnswer | None] = []
    first = threading.Thread(target=lambda: results.append(peers.ask(question())))
    first.start()
    try:
        assert entered.wait(10)
        assert peers.ask(question()) is None  # the only slot is taken: at once, not asked
        assert len(calls) == 1
    finally:
        release.set()
        first.join(10)
        peers.close()
    assert results == [PeerAnswer("MTCH")]


@pytest.fixture
def trickling() -> Iterator[tuple[str, threading.Event]]:
    """A PSP that sends its headers, then one byte of a long body at a time, each well
    within a single read's timeout, until the caller hangs up (the event is set then)."""
    listener = socket.create_server(("127.0.0.1", 0))
    hung_up, stop = threading.Event(), threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
            while not stop.is_set():
                try:
                    conn.sendall(b" ")
                except OSError:
                    hung_up.set()
                    return
                stop.wait(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", hung_up
    finally:
        stop.set()
        listener.close()
        thread.join(10)


@pytest.mark.timeout(20)
def test_a_trickling_psp_is_cut_off_at_the_deadline(
    trickling: tuple[str, threading.Event],
) -> None:
    url, hung_up = trickling
    peers = psps(url, timeout_seconds=0.5)
    try:
        assert peers.ask(question()) is None
    finally:
        peers.close()
    assert hung_up.wait(10)  # we hung up long before its 100,000 bytes
