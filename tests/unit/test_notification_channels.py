"""The webhook and e-mail channels against real local servers (no database): how each
answer is classified, so that the sender retries or gives up as it should."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

from adapters.notifications.email import EmailChannel, SmtpConfig, parse_smtp_url, render_message
from adapters.notifications.webhook import WebhookChannel, verify_signature
from application.notifications.ports import OutgoingNotification
from tests.notify_support import (
    free_port,
    refusing_smtp_server,
    slow_server,
    smtp_server,
    webhook_server,
)

SECRET = "channel-test-secret-0123"
NOTE = OutgoingNotification(
    delivery_id="7d1f5c1e-0000-4000-8000-000000000001",
    rule="payment-held",
    event_type="Transaction.Held",
    payload={"deliveryId": "7d1f5c1e-0000-4000-8000-000000000001", "data": {"amount": "1.00"}},
)


def test_a_webhook_post_is_signed_json() -> None:
    with webhook_server(204) as hook:
        result = WebhookChannel(SECRET, timeout=2).send(hook.url, NOTE)
    assert result.delivered and result.detail.startswith("HTTP 204")
    [request] = hook.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert request.path == "/hooks/ledger"
    assert headers["content-type"] == "application/json"
    assert headers["x-ledger-event"] == "Transaction.Held"
    sent_at = int(headers["x-ledger-timestamp"])
    assert abs(time.time() - sent_at) < 60
    assert verify_signature(
        SECRET, request.body, headers["x-ledger-signature"], headers["x-ledger-timestamp"]
    )
    assert not verify_signature(  # the same request replayed ten minutes later
        SECRET,
        request.body,
        headers["x-ledger-signature"],
        headers["x-ledger-timestamp"],
        now=sent_at + 600,
    )
    assert json.loads(request.body) == NOTE.payload


def test_a_webhook_redirect_is_not_followed_but_retried() -> None:
    with webhook_server(302) as hook:
        result = WebhookChannel(SECRET, timeout=2).send(hook.url, NOTE)
    assert (result.delivered, result.permanent) == (False, False)
    assert len(hook.requests) == 1


def test_a_webhook_that_does_not_answer_in_time_is_retried() -> None:
    with slow_server(1.0) as url:
        result = WebhookChannel(SECRET, timeout=0.2).send(url, NOTE)
    assert (result.delivered, result.permanent) == (False, False)
    assert "timed out" in result.detail


def test_an_unreachable_webhook_is_retried() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    result = WebhookChannel(SECRET, timeout=1).send(url, NOTE)
    assert (result.delivered, result.permanent) == (False, False)


def test_mail_is_delivered_through_smtp() -> None:
    with smtp_server() as mailbox:
        channel = EmailChannel(SmtpConfig("127.0.0.1", mailbox.port), "ledger@bank.example")
        result = channel.send("ops@example.com", NOTE)
    assert result.delivered, result
    assert mailbox.messages[0].rcpt_tos == ["ops@example.com"]


def test_an_unknown_mailbox_is_given_up_and_a_busy_server_retried() -> None:
    with refusing_smtp_server("550 5.1.1 no such user") as mailbox:
        channel = EmailChannel(SmtpConfig("127.0.0.1", mailbox.port), "ledger@bank.example")
        refused = channel.send("nobody@example.com", NOTE)
    assert (refused.delivered, refused.permanent) == (False, True)
    assert "550" in refused.detail
    with refusing_smtp_server("451 4.3.0 try again later") as mailbox:
        channel = EmailChannel(SmtpConfig("127.0.0.1", mailbox.port), "ledger@bank.example")
        busy = channel.send("ops@example.com", NOTE)
    assert (busy.delivered, busy.permanent) == (False, False)
    down = EmailChannel(SmtpConfig("127.0.0.1", free_port()), "ledger@bank.example", timeout=1)
    unreachable = down.send("ops@example.com", NOTE)
    assert (unreachable.delivered, unreachable.permanent) == (False, False)


def test_smtp_urls() -> None:
    problems: list[str] = []
    assert parse_smtp_url("smtp://mail:2525", problems) == SmtpConfig("mail", 2525)
    secure = parse_smtp_url("smtps://user:p%40ss@mail", problems)
    assert (secure.port, secure.security, secure.password) == (465, "tls", "p@ss")
    assert "p@ss" not in secure.describe() and "user" not in secure.describe()
    assert parse_smtp_url("smtp+starttls://mail", problems).security == "starttls"
    assert problems == []
    parse_smtp_url("http://mail", problems)
    assert problems and problems[0].startswith("LEDGER_SMTP_URL:")


def test_a_resent_email_has_the_same_message_id() -> None:
    first = render_message("Ledger <ledger@bank.example>", "ops@example.com", NOTE)
    again = render_message("Ledger <ledger@bank.example>", "ops@example.com", NOTE)
    assert first["Message-ID"] == again["Message-ID"] == f"<{NOTE.delivery_id}@bank.example>"


def test_a_receiver_that_drips_its_answer_cannot_hold_the_sender_past_the_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def drip() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        with contextlib.suppress(OSError):
            for char in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 12:
                conn.sendall(bytes([char]))
                time.sleep(0.25)  # always well inside a per-read timeout
            conn.sendall(b"\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    began = time.monotonic()
    result = WebhookChannel(SECRET, timeout=1.0).send(f"http://127.0.0.1:{port}/", NOTE)
    took = time.monotonic() - began
    listener.close()
    assert took < 2.0, f"a 1 s timeout held the sender for {took:.1f} s"
    assert (result.delivered, result.permanent) == (False, False)
    assert "timed out" in result.detail
