"""The notifications context end to end on both backends: rules over the ledger's log,
deliveries scheduled once, sent to real local receivers, retried with back-off on the
injected clock, given up, and projected into the delivery audit."""

from __future__ import annotations

import email
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from adapters.notifications.email import SmtpConfig
from adapters.notifications.positions import (
    SqlPositionStore,
    create_position_tables,
    notification_positions,
)
from adapters.notifications.webhook import verify_signature
from adapters.persistence import DatabaseConfig, read_model_engine
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.notifications_role import notification_workers
from api.runtime.settings import Settings
from application.errors import NotFound
from application.notifications.ports import ChannelResult, OutgoingNotification
from domain.notifications.deliveries import delivery_id
from domain.notifications.rules import Channel, Condition, EventRef, Rule, rule_set
from projections.notifications.read_model import (
    rm_notification_attempts,
    rm_notification_deliveries,
)
from tests.builders import FakeClock, iban, open_command, payment
from tests.notify_support import free_port, smtp_server, webhook_server

SECRET = "s3cret-for-the-tests-only"
BASE = 10  # seconds of the first back-off


def held_rule(channel: Channel, target: str, **kwargs: Any) -> Rule:
    return Rule(
        name="payment-held",
        events=(EventRef("ledger", "Transaction.Held"),),
        channel=channel,
        target=target,
        **kwargs,
    )


def settings_for(database: DatabaseConfig, *rules: Rule, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "rules": rule_set(rules, "test", allow_local_http=True),
        "webhook_secret": SECRET,
        "retry_base_seconds": BASE,
        "max_attempts": 4,
        "timeout_seconds": 2.0,
        "start": "beginning",
    }
    return Settings().with_database(database).updated(notifications={**values, **changes})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def start(database: DatabaseConfig, clock: FakeClock) -> Iterator[Any]:
    built: list[Container] = []

    def make(*rules: Rule, **changes: Any) -> Container:
        container = bootstrap(settings_for(database, *rules, **changes), clock=clock)
        built.append(container)
        return container

    yield make
    for container in built:
        container.close()


DEBTOR = iban("DE")


def hold_a_payment(container: Container, amount: str = "15000.00") -> UUID:
    """Pay above the review limit (from an account opened and funded the first time): the
    payment is held for review."""
    ledger = container.ledger
    try:
        ledger.get_account(DEBTOR)
    except NotFound:
        ledger.open_account(open_command(DEBTOR))
        funded = ledger.submit_payment(
            payment(debtor=iban("NL"), creditor=DEBTOR, amount="50000.00", channel="SEPA")
        )
        assert funded.status == "POSTED", funded
    result = ledger.submit_payment(payment(debtor=DEBTOR, creditor=iban("FR"), amount=amount))
    assert result.status == "HELD", result
    return UUID(result.transaction_id)


def deliveries(container: Container) -> list[dict[str, Any]]:
    container.projector.catch_up()
    with container.read_engine.connect() as conn:
        rows = conn.execute(
            select(rm_notification_deliveries).order_by(rm_notification_deliveries.c.id)
        )
        return [dict(r) for r in rows.mappings()]


def attempts(container: Container) -> list[tuple[int, str]]:
    container.projector.catch_up()
    t = rm_notification_attempts
    with container.read_engine.connect() as conn:
        rows = conn.execute(select(t.c.attempt, t.c.outcome).order_by(t.c.attempt))
        return [(r.attempt, r.outcome) for r in rows]


def evaluate(container: Container) -> None:
    assert container.notification_evaluator is not None
    while container.notification_evaluator.step():
        pass


def send(container: Container) -> int:
    container.projector.catch_up()
    assert container.notification_sender is not None
    return container.notification_sender.step()


def test_a_held_payment_schedules_one_delivery_however_often_it_is_read(start: Any) -> None:
    container = start(held_rule(Channel.WEBHOOK, "https://hooks.example.com/x/token"))
    evaluate(container)  # nothing yet
    held = hold_a_payment(container)
    evaluate(container)
    evaluate(container)
    rows = deliveries(container)
    assert len(rows) == 1
    row = rows[0]
    ledger_position = container.ledger.recorder.max_notification_id()
    assert row["status"] == "PENDING"
    assert row["source_event_type"] == "Transaction.Held"
    assert row["target"] == "https://hooks.example.com/…"  # the token never recorded
    assert UUID(row["id"]) == delivery_id("payment-held", "ledger", row["source_position"])
    assert row["payload"]["data"]["transaction_id"] == str(held)
    assert row["payload"]["data"]["currency"] == "EUR"
    assert DEBTOR not in json.dumps(row["payload"])
    assert DEBTOR[:4] in row["payload"]["data"]["debtor_iban"]
    # reading the events again (positions lost) schedules nothing more
    with container.read_engine.begin() as conn:
        conn.execute(notification_positions.delete())
    evaluate(container)
    assert len(deliveries(container)) == 1
    assert container.notifications is not None
    assert container.notifications.recorder.max_notification_id() == 1
    key = "rule:payment-held"
    assert SqlPositionStore(container.read_engine).get(key, "ledger") == ledger_position


def test_starting_now_skips_the_history(start: Any) -> None:
    first = start(held_rule(Channel.WEBHOOK, "https://hooks.example.com/x"))
    hold_a_payment(first)
    first.close()
    container = start(held_rule(Channel.WEBHOOK, "https://hooks.example.com/x"), start="now")
    evaluate(container)  # the first read of the log starts at its head
    assert deliveries(container) == []
    later = hold_a_payment(container, "11000.00")
    evaluate(container)
    [row] = deliveries(container)
    assert row["payload"]["data"]["transaction_id"] == str(later)


def test_a_condition_that_does_not_hold_schedules_nothing(start: Any) -> None:
    container = start(
        held_rule(
            Channel.WEBHOOK,
            "https://hooks.example.com/x",
            condition=Condition(min_amount=Decimal("20000"), currency="EUR"),
        )
    )
    hold_a_payment(container, "15000.00")
    evaluate(container)
    assert deliveries(container) == []


def test_webhook_failing_twice_then_answering_is_delivered_on_the_third_attempt(
    start: Any, clock: FakeClock
) -> None:
    with webhook_server(500, 500, 200) as hook:
        container = start(held_rule(Channel.WEBHOOK, hook.url))
        hold_a_payment(container)
        evaluate(container)
        assert send(container) == 1
        assert send(container) == 0  # not due before the back-off
        clock.advance(BASE - 1)
        assert send(container) == 0
        clock.advance(1)
        assert send(container) == 1
        clock.advance(2 * BASE - 1)
        assert send(container) == 0
        clock.advance(1)
        assert send(container) == 1
        assert attempts(container) == [(1, "FAILED"), (2, "FAILED"), (3, "DELIVERED")]
        [row] = deliveries(container)
        assert row["status"] == "DELIVERED"
        assert row["attempts"] == 3
        assert row["next_attempt_at"] is None
        clock.advance(3600)
        assert send(container) == 0
        assert len(hook.requests) == 3
        request = hook.requests[-1]
        headers = {k.lower(): v for k, v in request.headers.items()}
        signed, at = headers["x-ledger-signature"], headers["x-ledger-timestamp"]
        assert verify_signature(SECRET, request.body, signed, at)
        assert not verify_signature("another-secret-entirely", request.body, signed, at)
        assert headers["x-ledger-delivery"] == row["id"]
        body = json.loads(request.body)
        assert body["deliveryId"] == row["id"]
        assert body["event"] == "Transaction.Held"
        assert DEBTOR not in request.body.decode()
        assert {r.body for r in hook.requests} == {request.body}  # the same body each time


def test_webhook_refusing_with_400_gives_up_at_once(start: Any, clock: FakeClock) -> None:
    with webhook_server(400) as hook:
        container = start(held_rule(Channel.WEBHOOK, hook.url))
        hold_a_payment(container)
        evaluate(container)
        assert send(container) == 1
        [row] = deliveries(container)
        assert row["status"] == "GAVE_UP"
        assert attempts(container) == [(1, "REJECTED")]
        assert "HTTP 400" in row["gave_up_reason"]
        clock.advance(10 * 3600)
        assert send(container) == 0
        assert len(hook.requests) == 1


def test_an_unreachable_webhook_is_retried_then_given_up(start: Any, clock: FakeClock) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody"
    container = start(held_rule(Channel.WEBHOOK, url), max_attempts=3)
    hold_a_payment(container)
    evaluate(container)
    assert send(container) == 1
    clock.advance(BASE)
    assert send(container) == 1
    clock.advance(2 * BASE)
    assert send(container) == 1
    [row] = deliveries(container)
    assert row["status"] == "GAVE_UP"
    assert attempts(container) == [(1, "FAILED"), (2, "FAILED"), (3, "FAILED")]
    assert "3 attempts failed" in row["gave_up_reason"]
    assert row["last_error"]


def test_a_channel_that_raises_is_a_failed_attempt_and_the_delivery_stays(
    start: Any, clock: FakeClock
) -> None:
    class Broken:
        def send(self, target: str, notification: OutgoingNotification) -> ChannelResult:
            raise RuntimeError("the channel exploded")

    container = start(held_rule(Channel.WEBHOOK, "https://hooks.example.com/x"))
    assert container.notification_sender is not None
    container.notification_sender.channels[Channel.WEBHOOK] = Broken()
    hold_a_payment(container)
    evaluate(container)
    assert send(container) == 1
    [row] = deliveries(container)
    assert row["status"] == "PENDING"
    assert "RuntimeError: the channel exploded" in row["last_error"]


def test_email_reaches_a_real_smtp_server(start: Any) -> None:
    with smtp_server() as mailbox:
        container = start(
            held_rule(Channel.EMAIL, "fraud-team@example.com"),
            smtp=SmtpConfig("127.0.0.1", mailbox.port),
            email_from="ledger@bank.example",
        )
        held = hold_a_payment(container)
        evaluate(container)
        assert send(container) == 1
        [row] = deliveries(container)
        assert row["status"] == "DELIVERED", row
        assert row["target"] == "f***@example.com"
        [envelope] = mailbox.messages
        assert envelope.mail_from == "ledger@bank.example"
        assert envelope.rcpt_tos == ["fraud-team@example.com"]
        message = email.message_from_bytes(envelope.content)
        assert message["Subject"] == "[ledger] payment-held: Transaction.Held"
        assert message["X-Ledger-Delivery"] == row["id"]
        text = message.get_payload(decode=True).decode()
        assert str(held) in text
        assert DEBTOR not in text


def test_rebuilding_the_delivery_audit_gives_the_same_rows(start: Any, clock: FakeClock) -> None:
    with webhook_server(503, 200) as hook:
        container = start(held_rule(Channel.WEBHOOK, hook.url))
        hold_a_payment(container)
        hold_a_payment(container, "12000.00")
        evaluate(container)
        send(container)
        clock.advance(BASE)
        send(container)
        before = snapshot(container)
        assert len(before[0]) == 2 and len(before[1]) >= 3
        container.projector.rebuild("notifications")
        assert snapshot(container) == before


def snapshot(container: Container) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    container.projector.catch_up()
    with container.read_engine.connect() as conn:
        deliveries_ = [
            dict(r)
            for r in conn.execute(
                select(rm_notification_deliveries).order_by(rm_notification_deliveries.c.id)
            ).mappings()
        ]
        attempts_ = [
            dict(r)
            for r in conn.execute(
                select(rm_notification_attempts).order_by(
                    rm_notification_attempts.c.delivery_id, rm_notification_attempts.c.attempt
                )
            ).mappings()
        ]
    return deliveries_, attempts_


# --------------------------------------------------------------------------- replicas


@contextmanager
def counting_webhook(delay: float = 0.0) -> Iterator[tuple[str, list[str]]]:
    """Answers 200 after ``delay`` seconds; records the X-Ledger-Delivery of every request."""
    seen: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                seen.append(self.headers.get("X-Ledger-Delivery", ""))
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    finally:
        server.shutdown()
        server.server_close()


def test_of_three_replicas_one_sends_and_a_standby_takes_over_when_it_stops(
    start: Any,
) -> None:
    """The chart runs 3 replicas of the role: one leader evaluates and sends, the others
    stand by (ready, doing nothing) until it stops."""
    with counting_webhook(delay=0.5) as (url, seen):
        replicas = [start(held_rule(Channel.WEBHOOK, url)) for _ in range(3)]
        workers = [notification_workers(c, retry_leadership=0) for c in replicas]
        try:
            hold_a_payment(replicas[0])
            evaluated = [pair[0].run_once() for pair in workers]  # type: ignore[attr-defined]
            assert evaluated[0] > 0 and evaluated[1:] == [0, 0]  # the first one leads
            replicas[0].projector.catch_up()
            barrier = threading.Barrier(3)
            sent: list[int] = []

            def run(pair: list[Any]) -> None:
                barrier.wait()
                sent.append(pair[1].run_once())

            threads = [threading.Thread(target=run, args=(pair,)) for pair in workers]
            for t in threads:
                t.start()
            for t in threads:
                t.join(20)
            [row] = deliveries(replicas[0])
            assert (row["status"], row["attempts"]) == ("DELIVERED", 1)
            assert len(seen) == 1, f"the receiver got the delivery {len(seen)} times: {seen}"
            assert sorted(sent) == [0, 0, 1]
            assert all(
                w.readiness()["leader"] is (i == 0) for i, p in enumerate(workers) for w in p
            )

            for worker in workers[0]:  # the leader shuts down (SIGTERM)
                worker.shutdown(1.0)
            hold_a_payment(replicas[1], "16000.00")
            assert workers[1][0].run_once() > 0  # a standby takes over
            assert workers[2][0].run_once() == 0
            replicas[1].projector.catch_up()
            assert workers[2][1].run_once() == 0
            assert workers[1][1].run_once() == 1
            assert len(seen) == 2 and len(set(seen)) == 2
        finally:
            for pair in workers:
                for worker in pair:
                    worker.shutdown(1.0)


# --------------------------------------------------------------------------- rolling update


def test_a_replica_without_the_rule_leaves_its_delivery_pending(start: Any) -> None:
    """Rolling update adding 'new-rule': an old pod's sender does not give its delivery up."""
    with counting_webhook() as (url, seen):
        old = start(held_rule(Channel.WEBHOOK, url))
        new = start(
            held_rule(Channel.WEBHOOK, url),
            replace(held_rule(Channel.WEBHOOK, url), name="new-rule"),
        )
        hold_a_payment(new)
        evaluate(new)
        assert send(old) == 1  # its own rule's delivery only
        by_rule = {r["rule"]: r for r in deliveries(old)}
        assert by_rule["payment-held"]["status"] == "DELIVERED"
        assert (by_rule["new-rule"]["status"], by_rule["new-rule"]["attempts"]) == ("PENDING", 0)
        assert old.notification_sender is not None
        assert old.notification_sender.report.not_mine == 1
        assert send(new) == 1  # a pod that has the rule sends it
        assert {r["status"] for r in deliveries(new)} == {"DELIVERED"}
        assert len(seen) == 2


def test_a_replica_whose_rule_targets_elsewhere_leaves_the_delivery_pending(start: Any) -> None:
    with counting_webhook() as (url, seen):
        new = start(held_rule(Channel.WEBHOOK, url))
        old = start(held_rule(Channel.WEBHOOK, url + "/old"))
        hold_a_payment(new)
        evaluate(new)
        assert send(old) == 0
        [row] = deliveries(old)
        assert (row["status"], row["attempts"]) == ("PENDING", 0)
        assert send(new) == 1
        assert seen and deliveries(new)[0]["status"] == "DELIVERED"


def test_an_inactive_rule_gives_its_pending_deliveries_up(start: Any) -> None:
    """How an operator clears the deliveries of a rule removed for good: list it without a
    target until they are given up."""
    with counting_webhook() as (url, seen):
        scheduler = start(held_rule(Channel.WEBHOOK, url))
        hold_a_payment(scheduler)
        evaluate(scheduler)
        retired = start(replace(held_rule(Channel.WEBHOOK, url), target=None))
        assert send(retired) == 1
        [row] = deliveries(retired)
        assert row["status"] == "GAVE_UP" and "inactive" in row["gave_up_reason"]
        assert not seen


def test_an_old_replica_does_not_read_past_the_events_of_a_rule_it_does_not_have(
    start: Any,
) -> None:
    """Positions are kept per rule: an evaluator without 'new-rule' (a pod of the previous
    version) cannot move 'new-rule' past the events it fires on."""
    with counting_webhook() as (url, _seen):
        rule = held_rule(Channel.WEBHOOK, url)
        old = start(rule)
        new = start(rule, replace(rule, name="new-rule"))
        evaluate(new)  # the new pod is up and has read everything so far
        hold_a_payment(new)  # after the new rule is deployed
        evaluate(old)  # but an old pod evaluates it first
        evaluate(new)
        assert sorted(r["rule"] for r in deliveries(new)) == ["new-rule", "payment-held"]


def test_a_rule_added_later_starts_at_the_head_when_starting_now(start: Any) -> None:
    with counting_webhook() as (url, _seen):
        rule = held_rule(Channel.WEBHOOK, url)
        first = start(rule, start="now")
        evaluate(first)
        hold_a_payment(first)
        evaluate(first)
        later = start(rule, replace(rule, name="added-later"), start="now")
        evaluate(later)  # 'added-later' starts at the head: the history is not its
        assert [r["rule"] for r in deliveries(later)] == ["payment-held"]
        hold_a_payment(later, "11000.00")
        evaluate(later)
        assert sorted(r["rule"] for r in deliveries(later)) == [
            "added-later",
            "payment-held",
            "payment-held",
        ]


def test_a_slower_evaluator_does_not_move_the_position_back(database: DatabaseConfig) -> None:
    engine = read_model_engine(database)
    try:
        create_position_tables(engine)
        store = SqlPositionStore(engine)
        assert store.get("rule:r", "ledger") is None
        store.set("rule:r", "ledger", 100)  # replica A
        store.set("rule:r", "ledger", 50)  # replica B, which read an older batch
        assert store.get("rule:r", "ledger") == 100
        store.set("rule:r", "ledger", 120)
        assert store.get("rule:r", "ledger") == 120
        assert store.get("rule:other", "ledger") is None
    finally:
        engine.dispose()
