"""Notification rules, their file, matching, masking, back-off and the webhook signature."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import create_engine

from adapters.leadership import Leadership
from adapters.messaging.config import StompConfig
from adapters.notifications.rules_file import RulesFileError, load_rules, parse_rules
from adapters.notifications.stomp import StompChannel
from adapters.notifications.webhook import classify, signature, verify_signature
from api.runtime.settings import Settings, SettingsError
from application.notifications.evaluation import event_fields
from application.notifications.ports import OutgoingNotification
from domain.fraud.cases import FraudCase
from domain.ledger.transactions import Transaction
from domain.notifications.deliveries import (
    Delivery,
    DeliveryStateError,
    DeliveryStatus,
    RetryPolicy,
    delivery_id,
    render_payload,
)
from domain.notifications.masking import plain_data, truncate
from domain.notifications.payloads import PAYLOAD_FIELDS
from domain.notifications.rules import (
    DEFAULT_RULES,
    EVENT_CATALOGUE,
    EVENT_CLASSES,
    Channel,
    Condition,
    EventRef,
    Rule,
    RuleError,
    check_rule,
    default_rules,
    mask_target,
)
from tests.notify_support import free_port

IBAN = "DE89370400440532013000"
MASKED = "DE89**************3000"


def rules_text(*rules: dict[str, Any]) -> str:
    return json.dumps({"rules": list(rules)})


def webhook_rule(**changes: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": "large-held",
        "events": ["ledger:Transaction.Held"],
        "condition": {"minAmount": "10000", "currency": "EUR"},
        "channel": "webhook",
        "target": "https://hooks.example.com/ledger/abc123",
    }
    rule.update(changes)
    return rule


# --------------------------------------------------------------------------- rules file


def test_a_valid_rules_file_gives_domain_rules() -> None:
    rules = parse_rules(
        rules_text(
            webhook_rule(),
            {
                "name": "fraud-confirmed",
                "events": ["fraud:FraudCase.Decided"],
                "condition": {"where": {"verdict": "CONFIRMED_FRAUD"}},
                "channel": "email",
                "target": "fraud-team@example.com",
            },
            {"name": "waiting", "events": ["identity:ChangeRequest.Requested"], "channel": "stomp"},
        ),
        "rules.json",
    )
    large, fraud, waiting = rules.rules
    assert large.events == (EventRef("ledger", "Transaction.Held"),)
    assert large.condition == Condition(Decimal("10000"), "EUR")
    assert fraud.condition.where == (("verdict", "CONFIRMED_FRAUD"),)
    assert not waiting.active  # no target: listed, never delivered
    assert [r.name for r in rules.active] == ["large-held", "fraud-confirmed"]
    assert rules.channels() == {Channel.WEBHOOK, Channel.EMAIL}
    assert rules.source == "rules.json"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (webhook_rule(events=["ledger:Transaction.Hold"]), "'large-held' (rules[0]): events:"),
        (webhook_rule(events=["nowhere:Thing.Done"]), "events: unknown context 'nowhere'"),
        (webhook_rule(events=["Transaction.Held"]), "must look like context:Event"),
        (webhook_rule(target="http://hooks.example.com/x"), "target: a webhook must be https://"),
        (webhook_rule(target="ftp://hooks.example.com/x"), "target: a webhook must be an https"),
        (webhook_rule(target="https://u:p@hooks.example.com/"), "target: no credentials"),
        (webhook_rule(channel="email", target="not-an-address"), "target: must be one e-mail"),
        (webhook_rule(channel="stomp", target="ledger.alerts"), "target: must be a broker"),
        (webhook_rule(channel="sms"), "'large-held' (rules[0]): channel:"),
        (webhook_rule(colour="red"), "'large-held' (rules[0]): colour: Extra inputs"),
        (webhook_rule(condition={"minAmount": "lots"}), "condition.minAmount:"),
        (webhook_rule(condition={"minAmount": "-1"}), "condition.minAmount: must be a non-neg"),
        (webhook_rule(condition={"currency": "euro"}), "condition.currency: must be an ISO"),
        (
            webhook_rule(events=["identity:ChangeRequest.Requested"]),
            "condition: identity:ChangeRequest.Requested carries no amount",
        ),
        (webhook_rule(name="Bad Name!"), "name: 2 to 64"),
        (webhook_rule(events=[]), "events: List should have at least 1 item"),
    ],
)
def test_a_bad_rule_is_reported_with_its_name_and_field(
    rule: dict[str, Any], expected: str
) -> None:
    with pytest.raises(RulesFileError) as caught:
        parse_rules(rules_text(rule), "rules.json")
    assert any(expected in problem for problem in caught.value.problems), caught.value.problems
    assert all(p.startswith("rules.json: ") for p in caught.value.problems)


def test_every_problem_of_the_file_is_reported_at_once() -> None:
    with pytest.raises(RulesFileError) as caught:
        parse_rules(
            rules_text(
                webhook_rule(name="one", target="http://example.com/"),
                webhook_rule(name="two", events=["ledger:Nope"]),
                webhook_rule(name="one"),
            ),
            "rules.json",
        )
    problems = caught.value.problems
    assert len(problems) == 3
    assert "rule 'one' (rules[0]): target" in problems[0]
    assert "rule 'two' (rules[1]): events" in problems[1]
    assert "rule 'one' (rules[2]): name: another rule has this name" in problems[2]


def test_not_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"rules": [\n  {"name": }\n]}', encoding="utf-8")
    with pytest.raises(RulesFileError, match=r"not valid JSON: .* line 2"):
        load_rules(path)
    with pytest.raises(RulesFileError, match="cannot be read"):
        load_rules(tmp_path / "missing.json")


def test_http_webhooks_only_to_this_machine_and_only_in_development() -> None:
    local = rules_text(webhook_rule(target="http://127.0.0.1:9000/hook"))
    assert parse_rules(local, allow_local_http=True).rules[0].active
    with pytest.raises(RulesFileError, match="development only"):
        parse_rules(local, allow_local_http=False)


# --------------------------------------------------------------------------- settings


def test_a_bad_rules_file_stops_the_settings_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(rules_text(webhook_rule(events=["ledger:Transaction.Hel"])), "utf-8")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"LEDGER_NOTIFICATION_RULES": str(path)})
    message = str(caught.value)
    assert "LEDGER_NOTIFICATION_RULES" in message
    assert "rule 'large-held' (rules[0]): events: ledger has no event 'Transaction.Hel'" in message


def test_a_rule_needs_its_channel_configured(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(
        rules_text(
            webhook_rule(),
            webhook_rule(name="mail", channel="email", target="ops@example.com"),
            webhook_rule(name="topic", channel="stomp", target="/topic/ledger.alerts"),
        ),
        "utf-8",
    )
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"LEDGER_NOTIFICATION_RULES": str(path)})
    problems = caught.value.problems
    assert any(p.startswith("LEDGER_NOTIFY_WEBHOOK_SECRET: rule 'large-held'") for p in problems)
    assert any(p.startswith("LEDGER_SMTP_URL: rule 'mail'") for p in problems)
    assert any(p.startswith("LEDGER_STOMP_URL: rule 'topic'") for p in problems)
    settings = Settings.from_env(
        {
            "LEDGER_NOTIFICATION_RULES": str(path),
            "LEDGER_NOTIFY_WEBHOOK_SECRET": "a-long-enough-secret",
            "LEDGER_SMTP_URL": "smtp+starttls://mail.example.com",
            "LEDGER_STOMP_URL": "stomp://guest:guest@127.0.0.1:61613",
            "LEDGER_NOTIFY_RETRY_BASE_SECONDS": "5",
            "LEDGER_NOTIFY_MAX_ATTEMPTS": "3",
        }
    )
    assert len(settings.notifications.rules.active) == 3
    assert settings.notifications.smtp is not None and settings.notifications.smtp.port == 587
    assert settings.notifications.retry_policy().schedule() == [
        timedelta(seconds=5),
        timedelta(seconds=10),
    ]
    described = json.dumps(settings.describe())
    assert "a-long-enough-secret" not in described
    assert "abc123" not in described  # the webhook's path is no business of the log
    assert "a-long-enough-secret" not in repr(settings)


def test_notification_settings_are_checked() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(
            {
                "LEDGER_NOTIFY_WEBHOOK_SECRET": "short",
                "LEDGER_SMTP_URL": "http://mail",
                "LEDGER_NOTIFY_RETRY_BASE_SECONDS": "0",
                "LEDGER_NOTIFY_MAX_ATTEMPTS": "0",
                "LEDGER_NOTIFY_START": "yesterday",
            }
        )
    names = {p.split(":")[0] for p in caught.value.problems}
    assert names == {
        "LEDGER_NOTIFY_WEBHOOK_SECRET",
        "LEDGER_SMTP_URL",
        "LEDGER_NOTIFY_RETRY_BASE_SECONDS",
        "LEDGER_NOTIFY_MAX_ATTEMPTS",
        "LEDGER_NOTIFY_START",
    }


def test_without_a_rules_file_the_built_in_rules_are_listed_and_deliver_nowhere() -> None:
    settings = Settings.from_env({})
    assert settings.notifications.rules.source == "built-in"
    assert [r.name for r in settings.notifications.rules.rules] == [r.name for r in DEFAULT_RULES]
    assert settings.notifications.rules.active == ()
    assert all(r.target is None for r in default_rules().rules)


# --------------------------------------------------------------------------- matching


def test_rules_match_their_events_and_conditions() -> None:
    rule = check_rule(
        Rule(
            "big-eur",
            (EventRef("ledger", "Transaction.Held"), EventRef("ledger", "Transaction.Posted")),
            Channel.STOMP,
            "/topic/ledger.alerts",
            Condition(min_amount=Decimal("10000"), currency="EUR"),
        )
    )
    facts = {"amount": Decimal("10000.00"), "currency": "EUR"}
    assert rule.matches("ledger", "Transaction.Held", facts)
    assert rule.matches("ledger", "Transaction.Posted", facts)
    assert not rule.matches("ledger", "Transaction.Rejected", facts)
    assert not rule.matches("fraud", "Transaction.Held", facts)
    assert not rule.matches("ledger", "Transaction.Held", {**facts, "amount": Decimal("9999.99")})
    assert not rule.matches("ledger", "Transaction.Held", {**facts, "currency": "USD"})
    assert not rule.matches("ledger", "Transaction.Held", {"currency": "EUR"})  # no amount
    verdict = Condition(where=(("verdict", "CONFIRMED_FRAUD"),))
    assert verdict.holds({"verdict": "CONFIRMED_FRAUD"})
    assert not verdict.holds({"verdict": "FALSE_POSITIVE"})
    assert not verdict.holds({})


def test_the_catalogue_names_the_events_of_each_context() -> None:
    assert EVENT_CATALOGUE["ledger"]["Transaction.Held"] is True
    assert EVENT_CATALOGUE["ledger"]["Account.Frozen"] is False
    assert EVENT_CATALOGUE["fraud"]["FraudCase.Decided"] is True
    assert EVENT_CATALOGUE["identity"]["ChangeRequest.Requested"] is False
    assert "ChangeRequest.Created" not in EVENT_CATALOGUE["identity"]
    with pytest.raises(RuleError, match="rule 'x1': target"):
        check_rule(Rule("x1", (EventRef("ledger", "Transaction.Held"),), Channel.EMAIL, "a@b"))


def test_targets_are_masked() -> None:
    assert mask_target(Channel.WEBHOOK, "https://hooks.example.com/T0/B1/secret") == (
        "https://hooks.example.com/…"
    )
    assert mask_target(Channel.WEBHOOK, "http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert mask_target(Channel.EMAIL, "fraud-team@example.com") == "f***@example.com"
    assert mask_target(Channel.STOMP, "/topic/ledger.alerts") == "/topic/ledger.alerts"


# --------------------------------------------------------------------------- payload masking


def test_payloads_carry_no_full_iban() -> None:
    data = {
        "debtor_iban": IBAN,
        "note": f"from {IBAN} and DE89 3704 0044 0532 0130 00",
        "legs": [{"account_key": IBAN, "amount": Decimal("12.50")}],
        "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "hash": "de89370400440532013000abcdef",  # lower-case hex, not an IBAN
    }
    payload = render_payload(
        delivery=delivery_id("r", "ledger", 7),
        rule="r",
        context="ledger",
        event_type="Transaction.Held",
        event_id="ledger:x:v3",
        subject="x",
        occurred_at=datetime(2026, 1, 2, tzinfo=UTC),
        data=data,
    )
    text = json.dumps(payload)
    assert IBAN not in text and "3704 0044" not in text
    assert payload["data"]["debtor_iban"] == MASKED
    assert payload["data"]["legs"] == [{"account_key": MASKED, "amount": "12.50"}]
    assert payload["data"]["at"] == "2026-01-02T03:04:05+00:00"
    assert payload["data"]["hash"] == data["hash"]
    assert plain_data({1.5, 2}) == ["1.5", 2] or plain_data({1.5, 2}) == [2, "1.5"]
    assert truncate(f"{IBAN} " + "x" * 600, 100).startswith(MASKED)
    assert len(truncate("x" * 600, 100)) == 100


# --------------------------------------------------------------------------- back-off


def test_the_back_off_doubles_up_to_its_ceiling() -> None:
    policy = RetryPolicy(timedelta(seconds=10), max_attempts=8, max_delay=timedelta(seconds=60))
    assert [d.total_seconds() for d in policy.schedule()] == [10, 20, 40, 60, 60, 60, 60]
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(timedelta(seconds=10), max_delay=timedelta(seconds=5))


def new_delivery(at: datetime) -> Delivery:
    return Delivery(
        rule="r",
        channel="webhook",
        target="https://hooks.example.com/…",
        target_digest="d",
        payload={},
        source_context="ledger",
        source_position=7,
        source_event_id="ledger:x:v3",
        source_event_type="Transaction.Held",
        scheduled_at=at,
    )


def test_a_delivery_retries_on_the_schedule_then_gives_up() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    policy = RetryPolicy(timedelta(seconds=10), max_attempts=3)
    delivery = new_delivery(at)
    assert delivery.id == delivery_id("r", "ledger", 7)
    assert delivery.is_due(at)
    delivery.failed(at, "HTTP 500", permanent=False, policy=policy)
    assert delivery.next_attempt_at == at + timedelta(seconds=10)
    assert not delivery.is_due(at + timedelta(seconds=9))
    later = at + timedelta(seconds=10)
    delivery.failed(later, "HTTP 502", permanent=False, policy=policy)
    assert delivery.next_attempt_at == later + timedelta(seconds=20)
    delivery.failed(later, "timeout", permanent=False, policy=policy)
    assert delivery.status is DeliveryStatus.GAVE_UP
    assert delivery.attempts == 3
    assert not delivery.is_due(later + timedelta(days=1))
    with pytest.raises(DeliveryStateError):
        delivery.succeeded(later, "too late")
    kinds = [type(e).__name__ for e in delivery.collect_events()]
    assert kinds == ["Scheduled", "Attempted", "Attempted", "Attempted", "GaveUp"]


def test_the_retry_delay_is_capped_however_many_attempts() -> None:
    policy = RetryPolicy(timedelta(seconds=120), max_attempts=100, max_delay=timedelta(hours=1))
    assert [policy.delay(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (120, 240, 480)]
    assert policy.delay(41) == policy.delay(100) == policy.delay(10_000) == timedelta(hours=1)
    assert len(policy.schedule()) == 99


def test_a_permanent_refusal_gives_up_at_once_and_success_delivers() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    refused = new_delivery(at)
    refused.failed(at, "HTTP 404", permanent=True, policy=RetryPolicy())
    assert refused.status is DeliveryStatus.GAVE_UP and refused.attempts == 1
    taken = new_delivery(at)
    taken.succeeded(at, "HTTP 204")
    assert taken.status is DeliveryStatus.DELIVERED and taken.last_error is None


# --------------------------------------------------------------------------- webhook


def test_the_webhook_signature_is_the_hmac_of_the_body() -> None:
    body = b'{"deliveryId":"x"}'
    at = 1_790_000_000
    signed = b"1790000000." + body
    expected = "sha256=" + hmac.new(b"secret-key-123456", signed, hashlib.sha256).hexdigest()
    assert signature("secret-key-123456", at, body) == expected
    key = "secret-key-123456"
    assert verify_signature(key, body, expected, str(at), now=at + 299)
    assert not verify_signature(key, body + b" ", expected, str(at), now=at)
    assert not verify_signature("another-key-123456", body, expected, str(at), now=at)
    assert not verify_signature(key, body, expected, str(at + 1), now=at)  # another time
    assert not verify_signature(key, body, expected, str(at), now=at + 301)  # a replay
    assert not verify_signature(key, body, expected, "soon", now=at)


@pytest.mark.parametrize(
    ("status", "delivered", "permanent"),
    [
        (200, True, False),
        (204, True, False),
        (302, False, False),
        (400, False, True),
        (404, False, True),
        (408, False, False),
        (429, False, False),
        (500, False, False),
        (503, False, False),
    ],
)
def test_webhook_answers_are_classified(status: int, delivered: bool, permanent: bool) -> None:
    result = classify(status, "")
    assert (result.delivered, result.permanent) == (delivered, permanent)


def test_the_documented_example_rules_file_is_valid() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"
    section = doc.read_text(encoding="utf-8")
    example = section.split("```json", 1)[1].split("```", 1)[0]
    rules = parse_rules(example, "docs/notifications.md")
    assert [r.name for r in rules.active] == [
        "large-payment-held",
        "fraud-confirmed",
        "change-request-waiting",
    ]


def test_an_unreachable_broker_is_a_failed_attempt_to_retry() -> None:
    channel = StompChannel(StompConfig(host="127.0.0.1", port=free_port()), timeout=1)
    result = channel.send("/topic/ledger.alerts", OutgoingNotification("d", "r", "E", {}))
    assert (result.delivered, result.permanent) == (False, False)
    assert result.detail.startswith("broker unavailable")
    channel.close()


# --------------------------------------------------------------------------- payloads


def fake_event(cls: type, **fields: Any) -> Any:
    event = object.__new__(cls)
    event.__dict__.update(
        originator_id=uuid4(),
        originator_version=1,
        timestamp=datetime(2026, 11, 23, tzinfo=UTC),
        **fields,
    )
    return event


def test_a_payment_notification_sends_no_names_or_free_text() -> None:
    event = fake_event(
        Transaction.Received,
        channel="SEPA",
        external_id="e-1",
        amount=Decimal("15000.00"),
        currency="EUR",
        debtor_iban="DE89370400440532013000",
        debtor_name="Erika Mustermann",
        creditor_iban="FR1420041010050500013M02606",
        creditor_name="Jean Dupont",
        reference="rent; my card 4111 1111 1111 1111, acct DE89-3704-0044-0532-0130-00",
        requested_at=datetime(2026, 11, 23, tzinfo=UTC),
        metadata={"ip": "203.0.113.7"},
        reverses=None,
    )
    payload = render_payload(
        delivery=uuid4(),
        rule="r",
        context="ledger",
        event_type="Transaction.Received",
        event_id="ledger:x:v1",
        subject="x",
        occurred_at=event.timestamp,
        data=event_fields(event),
    )
    sent = json.dumps(payload)
    for secret in ("Mustermann", "Dupont", "4111 1111", "DE89-3704", "203.0.113.7"):
        assert secret not in sent, f"{secret!r} leaves the bank: {sent}"
    assert payload["data"]["amount"] == "15000.00"
    assert payload["data"]["debtor_iban"] == "DE89**************3000"


def test_a_fraud_decision_sends_the_verdict_but_not_the_note_or_the_analyst() -> None:
    event = fake_event(
        FraudCase.Decided, transaction_id="t-1", verdict="CONFIRMED_FRAUD", note="called Mr X"
    )
    assert event_fields(event) == {"transaction_id": "t-1", "verdict": "CONFIRMED_FRAUD"}
    assigned = fake_event(FraudCase.Assigned, transaction_id="t-1", analyst="alice")
    assert event_fields(assigned) == {"transaction_id": "t-1"}


def test_every_event_a_rule_may_name_has_an_allowlist_of_its_own_fields() -> None:
    for events in EVENT_CLASSES.values():
        for name, cls in events.items():
            assert name in PAYLOAD_FIELDS, name
            own = {f.name for f in dataclasses.fields(cls)}
            assert PAYLOAD_FIELDS[name] <= own, (name, PAYLOAD_FIELDS[name] - own)


# --------------------------------------------------------------------------- leadership


def test_one_leadership_at_a_time_a_standby_retries_at_most_every_retry_after(
    tmp_path: Path,
) -> None:
    engine = create_engine("sqlite://")
    now = [100.0]
    first = Leadership(engine, "s:notifications", tmp_path, retry_after=2.0, clock=lambda: now[0])
    second = Leadership(engine, "s:notifications", tmp_path, retry_after=2.0, clock=lambda: now[0])
    other = Leadership(engine, "t:notifications", tmp_path)  # another schema
    try:
        assert first.leading() and first.leading() and first.is_leader
        assert not second.leading() and not second.is_leader
        assert other.leading()
        first.release()
        assert not first.leading()  # released for good
        assert not second.leading()  # tried less than 2 s ago: waits
        now[0] += 2.0
        assert second.leading()
    finally:
        for leadership in (first, second, other):
            leadership.release()
        engine.dispose()
