"""No event stops the other followers of the log either (issue #12, 1b): the notification
rule evaluator and the fraud model's online features park what they cannot read or handle
(``rm_quarantine``) and go on; one context's failure does not stop the evaluation of the
others. On both backends. (The outbox: tests/broker/test_outbox_quarantine.py.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent
from eventsourcing.utils import get_topic

from adapters.persistence import DatabaseConfig, read_model_engine
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from application.fraud.features import OnlineFeatures, feature_topics, ledger_feed
from application.fraud.screening import ModelScreening
from application.notifications.evaluation import RuleEvaluator
from application.notifications.ports import ContextFeed
from application.quarantine import Unreadable
from domain.ledger.transactions import Transaction
from domain.notifications.deliveries import delivery_id
from domain.notifications.rules import Channel, EventRef, Rule, rule_set
from projections.quarantine import QuarantineStore
from tests.builders import FakeClock, iban, make_app, open_command, payment


def store_raw(app: Any, topic: str, state: bytes) -> int:
    """Stores an event as it is (bypassing the domain) and returns its position."""
    app.recorder.insert_events(
        [StoredEvent(originator_id=uuid.uuid4(), originator_version=1, topic=topic, state=state)]
    )
    return int(app.recorder.max_notification_id())


def broken_received(app: Any) -> int:
    """A ``Transaction.Received`` whose stored state lacks the debtor: it decodes, but
    folding it into the features raises."""
    good = app.recorder.select_notifications(start=1, limit=1000, topics=feature_topics()[:1])[0]
    state = json.loads(bytes(good.state))
    del state["debtor_iban"]
    return store_raw(app, good.topic, json.dumps(state).encode())


# -------------------------------------------------------------------- fraud features


@pytest.fixture
def engine(database: DatabaseConfig) -> Iterator[Any]:
    built = read_model_engine(database)
    yield built
    built.dispose()


def test_online_features_park_what_they_cannot_fold_and_go_on(
    database: DatabaseConfig, engine: Any
) -> None:
    app = make_app(database)
    try:
        debtor, creditor = iban("DE"), iban("DE")
        app.open_account(open_command(debtor, overdraft="1000"))
        app.open_account(open_command(creditor))
        app.submit_payment(payment(debtor=debtor, creditor=creditor, amount="1.00"))
        unreadable = store_raw(app, get_topic(Transaction.Received), b"not json at all")
        broken = broken_received(app)
        app.submit_payment(payment(debtor=debtor, creditor=creditor, amount="2.00"))
        store = QuarantineStore(engine)
        features = OnlineFeatures(ledger_feed(app, feature_topics()), quarantine=store)
        assert features.catch_up() > 0  # the replay at startup (warm_up) goes past them
        last = app.recorder.select_notifications(start=1, limit=10_000, topics=feature_topics())
        assert features.position == last[-1].id > broken
        assert [(e.follower, e.position, e.error_type) for e in store.entries()] == [
            ("fraud-features", unreadable, "UnreadableEventError"),
            ("fraud-features", broken, "AttributeError"),
        ]
        # both good payments were folded in, and nothing of the broken ones
        assert features.state.debtors[debtor].count == 2
        # a restart replays from zero: the entries are parked again, not duplicated
        again = OnlineFeatures(ledger_feed(app, feature_topics()), quarantine=store)
        again.catch_up()
        assert [e.attempts for e in store.entries()] == [2, 2]
    finally:
        app.close()


def test_the_container_wires_the_features_to_the_quarantine(database: DatabaseConfig) -> None:
    container = bootstrap(Settings().with_database(database), clock=FakeClock())
    try:
        screening = container.ledger.screening
        assert isinstance(screening, ModelScreening)
        assert isinstance(screening.online.guard.quarantine, QuarantineStore)
        assert isinstance(container.notification_evaluator, RuleEvaluator | type(None))
    finally:
        container.close()


# ------------------------------------------------------------------- notification rules

HELD = Rule(
    name="payment-held",
    events=(EventRef("ledger", "Transaction.Held"),),
    channel=Channel.WEBHOOK,
    target="https://hooks.example.com/x/token",
)
DECIDED = Rule(
    name="fraud-decided",
    events=(EventRef("fraud", "FraudCase.Decided"),),
    channel=Channel.WEBHOOK,
    target="https://hooks.example.com/y/token",
)


@pytest.fixture
def container(database: DatabaseConfig) -> Iterator[Container]:
    settings = (
        Settings()
        .with_database(database)
        .updated(
            notifications={
                "rules": rule_set((HELD,), "test", allow_local_http=True),
                "webhook_secret": "s3cret-for-the-tests-only",
                "start": "beginning",
            }
        )
    )
    built = bootstrap(settings, clock=FakeClock())
    yield built
    built.close()


def hold(container: Container, debtor: str) -> str:
    result = container.ledger.submit_payment(
        payment(debtor=debtor, creditor=iban("FR"), amount="15000.00")
    )
    assert result.status == "HELD", result
    return result.transaction_id


def test_the_rule_evaluator_parks_an_unreadable_event_and_goes_on(container: Container) -> None:
    ledger = container.ledger
    debtor = iban("DE")
    ledger.open_account(open_command(debtor))
    ledger.submit_payment(
        payment(debtor=iban("NL"), creditor=debtor, amount="50000.00", channel="SEPA")
    )
    bad = store_raw(ledger, get_topic(Transaction.Held), b"\xff\xfe garbage")
    hold(container, debtor)
    later = int(ledger.recorder.max_notification_id())
    evaluator = container.notification_evaluator
    assert evaluator is not None
    while evaluator.step():
        pass
    store = container.projector.quarantined
    [entry] = store.entries()
    assert (entry.follower, entry.context, entry.position) == ("notification-rules", "ledger", bad)
    assert container.notifications is not None
    held_position = next(
        n.id
        for n in ledger.recorder.select_notifications(start=bad + 1, limit=100)
        if n.topic == get_topic(Transaction.Held)
    )
    assert held_position <= later
    assert container.notifications.delivery(delivery_id(HELD.name, "ledger", held_position))
    # still unreadable: a retry fails and the entry stays open
    with pytest.raises(Exception, match="cannot decode"):
        evaluator.retry("ledger", bad)


def test_one_contexts_failure_does_not_stop_the_others(container: Container) -> None:
    evaluator = container.notification_evaluator
    assert evaluator is not None
    ledger = container.ledger
    debtor = iban("DE")
    ledger.open_account(open_command(debtor))
    ledger.submit_payment(
        payment(debtor=iban("NL"), creditor=debtor, amount="50000.00", channel="SEPA")
    )
    hold(container, debtor)
    head = int(ledger.recorder.max_notification_id())

    def unreachable(after: int, limit: int) -> list[tuple[int, object]]:
        raise OperationalError("the fraud database went away")

    evaluator.rules = rule_set((DECIDED, HELD), "test", allow_local_http=True)
    evaluator.feeds = [
        ContextFeed("fraud", unreachable, lambda: 5),  # first: it used to stop the others
        *evaluator.feeds,
    ]
    with pytest.raises(OperationalError):
        evaluator.step()  # transient: raised (the worker shows it), not quarantined
    assert container.notifications is not None
    scheduled = [
        n.id
        for n in ledger.recorder.select_notifications(start=1, limit=head)
        if n.topic == get_topic(Transaction.Held)
        and container.notifications.delivery(delivery_id(HELD.name, "ledger", n.id))
    ]
    assert scheduled, "the ledger's rules were evaluated although fraud's log failed"
    assert container.projector.quarantined.entries() == []


def test_unreadable_marker_names_the_event(database: DatabaseConfig) -> None:
    app = make_app(database)
    try:
        position = store_raw(app, "nowhere:Nothing", b"{}")
        [(found, event)] = ledger_feed(app)(position - 1, 10)
        assert found == position and isinstance(event, Unreadable)
        assert event.topic == "nowhere:Nothing" and "cannot decode" in str(event.error)
    finally:
        app.close()
