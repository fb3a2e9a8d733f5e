"""Read models and queries: balances, postings, point in time, trial balance, status
history, audit trail and keyset pagination, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from adapters.persistence import DatabaseConfig
from application.errors import NotFound
from domain.causation import Causation, caused_by
from domain.ledger.ids import account_id
from projections.ledger.tables import rm_postings
from projections.ledger.views import TransactionFilter
from projections.views import Page
from tests.builders import ledger_balance
from tests.integration.test_projection_support import START, Ledger, iban, make_ledger


@pytest.fixture
def ledger(database: DatabaseConfig) -> Iterator[Ledger]:
    ledger = make_ledger(database)
    try:
        yield ledger
    finally:
        ledger.close()


def walk(fetch: Any, first: int) -> list[Any]:
    """Every node of a keyset-paginated list, page by page."""
    nodes: list[Any] = []
    after = None
    while True:
        page: Page[Any] = fetch(first=first, after=after)
        assert len(page.edges) <= first
        nodes.extend(node for _, node in page.edges)
        if not page.has_next_page:
            return nodes
        after = page.end_cursor
        assert after is not None


def test_balances_postings_and_running_balance(ledger: Ledger) -> None:
    a = ledger.open(1, overdraft="100")
    b = ledger.open(2)
    outsider = iban(9, "FR")
    ledger.app.open_internal_account("suspense:EUR")
    assert ledger.pay("p1", a, b, "30.10").status == "POSTED"
    assert ledger.pay("p2", a, b, "30.10").status == "POSTED"
    assert ledger.pay("p3", outsider, a, "200.00").status == "POSTED"  # clearing -> a
    assert ledger.pay("p4", a, outsider, "12.34").status == "POSTED"  # a -> clearing
    assert ledger.pay("p5", b, a, "0.01").status == "POSTED"
    assert ledger.projector.catch_up() > 0

    q = ledger.queries
    view_a = q.account(a)
    assert view_a is not None
    assert view_a.balance == Decimal("127.47")
    assert str(view_a.balance) == "127.47"  # the currency's scale, not NUMERIC(38, 8)'s
    assert str(view_a.overdraft_limit) == "100.00"
    assert view_a.held == Decimal("0") and view_a.available == view_a.balance
    assert (view_a.type, view_a.status, view_a.iban, view_a.currency) == (
        "CUSTOMER",
        "OPEN",
        a,
        "EUR",
    )
    assert view_a.id == str(account_id(a))
    assert view_a.opened_at.tzinfo is not None and view_a.opened_at.utcoffset() == timedelta(0)

    # IBAN given with spaces and in lower case; internal codes in any case
    spaced = " ".join(a[i : i + 4] for i in range(0, len(a), 4)).lower()
    assert q.account(spaced) == view_a
    clearing = q.account("CLEARING:eur")
    assert clearing is not None and clearing.balance == Decimal("-187.66")
    assert clearing.type == "INTERNAL" and clearing.iban is None
    assert clearing.overdraft_limit is None
    suspense = q.account("suspense:EUR")
    assert suspense is not None and str(suspense.balance) == "0.00"
    assert q.account(iban(77)) is None

    b_view = q.account(b)
    assert b_view is not None and b_view.balance == Decimal("60.19")

    # postings newest first; running balance continues from one posting to the next
    postings = [node for _, node in q.postings(a, first=50).edges]
    assert [p.amount for p in postings] == [
        Decimal("0.01"),
        Decimal("-12.34"),
        Decimal("200.00"),
        Decimal("-30.10"),
        Decimal("-30.10"),
    ]
    assert [str(p.balance_after) for p in postings] == [
        "127.47",
        "127.46",
        "139.80",
        "-60.20",
        "-30.10",
    ]
    oldest_first = list(reversed(postings))
    running = Decimal(0)
    for posting in oldest_first:
        running += posting.amount
        assert posting.balance_after == running
        assert posting.currency == "EUR" and posting.account_key == a
    assert [p.account_version for p in oldest_first] == sorted(
        p.account_version for p in oldest_first
    )


def test_as_of_every_recorded_instant_equals_the_state_then(ledger: Ledger) -> None:
    app = ledger.app
    a = ledger.open(1, overdraft="50")
    b = ledger.open(2)
    keys = [a, b, "clearing:EUR"]
    snapshots: list[tuple[Any, dict[str, dict[str, Any]]]] = []

    def snapshot() -> None:
        states: dict[str, dict[str, Any]] = {}
        for key in keys:
            try:
                states[key] = app.get_account(key).state()
            except NotFound:  # only the clearing account, before the first payment opens it
                assert key == "clearing:EUR" and not snapshots, key
        if "clearing:EUR" in states:  # its balance: its legs (payments never write it)
            states["clearing:EUR"]["balance"] = ledger_balance(app, "clearing:EUR")
        snapshots.append((ledger.clock.now, states))

    snapshot()
    results: dict[str, Any] = {}
    steps = [
        lambda: ledger.pay("s1", iban(5, "FR"), a, "3500.00"),
        lambda: results.setdefault("s2", ledger.pay("s2", a, b, "40.00")),
        lambda: results.setdefault("s3", ledger.pay("s3", a, b, "1500.00")),  # held on a
        lambda: ledger.pay("s4", a, iban(6, "FR"), "99.99"),
        lambda: app.release_held(UUID(results["s3"].transaction_id)),
        lambda: app.freeze_account(b, "check"),
        lambda: ledger.pay("s5", b, a, "1.00"),  # rejected: b frozen
        lambda: app.unfreeze_account(b, "ok"),
        lambda: app.reverse(UUID(results["s2"].transaction_id), "mistake"),
        lambda: ledger.pay("s6", a, b, "1200.00"),  # held again
    ]
    for step in steps:
        step()
        snapshot()
    assert results["s3"].status == "HELD"
    ledger.projector.catch_up()

    q = ledger.queries
    opened_a = q.account(a)
    assert opened_a is not None
    assert q.account(a, as_of=opened_a.opened_at - timedelta(microseconds=1)) is None
    held_seen = False
    for instant, states in snapshots:
        for key, expected in states.items():
            for at in (instant, instant + timedelta(milliseconds=500)):
                view = q.account(key, as_of=at)
                assert view is not None, (key, at)
                assert view.balance == expected["balance"], (key, at)
                assert view.held == expected["held"], (key, at)
                assert view.status == expected["status"], (key, at)
                assert view.updated_at <= at
                held_seen = held_seen or view.held > 0
        batch = q.accounts_by_keys([*keys, a.lower(), iban(99)], as_of=instant)
        assert set(batch) == set(states) | ({a.lower()} if a in states else set())
        assert all(view == q.account(key, as_of=instant) for key, view in batch.items())
        trial = q.trial_balance(as_of=instant)
        by_key = {line.account_key: line.balance for line in trial.lines}
        assert by_key == {k: s["balance"] for k, s in states.items()}
        assert [t.balance_sum for t in trial.totals] == [Decimal("0.00")]
    assert held_seen
    current = q.accounts_by_keys([a, b, "Clearing:EUR", iban(99)])
    assert current == {a: q.account(a), b: q.account(b), "Clearing:EUR": q.account("clearing:EUR")}
    assert q.accounts_by_keys([]) == {}
    final = q.account(a)
    assert final is not None and final.held == Decimal("1200.00")
    assert final.available == final.balance - Decimal("1200.00")


def test_trial_balance_per_currency(ledger: Ledger) -> None:
    eur_a = ledger.open(1)
    eur_b = ledger.open(2)
    usd_a = ledger.open(3, currency="USD")
    usd_b = ledger.open(4, currency="USD", overdraft="10")
    jpy = ledger.open(5, currency="JPY")
    ledger.pay("e1", iban(1, "FR"), eur_a, "100.00")
    ledger.pay("e2", eur_a, eur_b, "60.50")
    ledger.pay("e3", eur_b, iban(2, "FR"), "0.50")
    middle = ledger.clock.now
    ledger.pay("u1", usd_b, usd_a, "7.25", currency="USD")
    ledger.pay("j1", iban(3, "FR"), jpy, "5000", currency="JPY")
    ledger.pay("x1", eur_a, usd_a, "1.00")  # currency mismatch: rejected, no postings
    ledger.projector.catch_up()

    trial = ledger.queries.trial_balance()
    totals = {t.currency: t for t in trial.totals}
    assert set(totals) == {"EUR", "USD", "JPY"}
    for total in trial.totals:
        assert total.balance_sum == 0
        assert total.debits == total.credits
    assert totals["EUR"].debits == Decimal("161.00")
    assert str(totals["JPY"].debits) == "5000"
    assert str(totals["USD"].credits) == "7.25"
    lines = {line.account_key: line for line in trial.lines}
    assert lines[usd_b].balance == Decimal("-7.25")
    assert lines["clearing:EUR"].type == "INTERNAL"
    assert [(line.currency, line.account_key) for line in trial.lines] == sorted(
        (line.currency, line.account_key) for line in trial.lines
    )

    # debit/credit totals agree with the postings table
    with ledger.engine.connect() as conn:
        amounts = conn.execute(select(rm_postings.c.currency, rm_postings.c.amount)).all()
    for currency, total in totals.items():
        debits = sum((-a for c, a in amounts if c == currency and a < 0), Decimal(0))
        assert total.debits == debits

    usd_only = ledger.queries.trial_balance(currency="usd")
    assert {t.currency for t in usd_only.totals} == {"USD"}
    assert {line.account_key for line in usd_only.lines} == {usd_a, usd_b, "clearing:USD"}

    earlier = ledger.queries.trial_balance(as_of=middle)
    assert {t.currency for t in earlier.totals} == {"EUR", "USD", "JPY"}
    assert {t.currency: t.debits for t in earlier.totals}["USD"] == 0
    assert {t.currency: t.balance_sum for t in earlier.totals}["EUR"] == 0
    assert earlier.as_of == middle
    before_all = ledger.queries.trial_balance(as_of=START)
    assert before_all.lines == [] and before_all.totals == []


def test_transaction_status_history_and_as_of(ledger: Ledger) -> None:
    app = ledger.app
    a = ledger.open(1, overdraft="0")
    b = ledger.open(2)
    ledger.pay("fund", iban(1, "FR"), a, "4000.00")
    posted = ledger.pay("t1", a, b, "10.00", channel="WEB")
    held = ledger.pay("t2", a, b, "2000.00")
    declined = ledger.pay("t3", a, b, "6000.00")
    unknown = ledger.pay("t4", iban(7, "FR"), iban(8, "FR"), "1.00")
    after_booking = ledger.clock.now
    app.release_held(UUID(held.transaction_id))
    released_at = ledger.clock.now
    reversal = app.reverse(UUID(posted.transaction_id), "customer complaint")
    app.settle(UUID(held.transaction_id), "SETTLE-1")
    ledger.projector.catch_up()
    q = ledger.queries

    history = q.status_history(
        [posted.transaction_id, held.transaction_id, declined.transaction_id, "nope"]
    )
    assert [c.status for c in history[posted.transaction_id]] == [
        "RECEIVED",
        "SCREENED",
        "POSTED",
        "REVERSED",
    ]
    assert history[posted.transaction_id][-1].reason == "customer complaint"
    assert [c.status for c in history[held.transaction_id]] == [
        "RECEIVED",
        "SCREENED",
        "HELD",
        "POSTED",
        "SETTLED",
    ]
    assert [(c.status, c.reason) for c in history[declined.transaction_id]][-1] == (
        "REJECTED",
        "SCREENING_DECLINED",
    )
    assert history["nope"] == []
    for changes in history.values():
        assert [c.at for c in changes] == sorted(c.at for c in changes)

    now_view = q.transaction(held.transaction_id)
    assert now_view is not None and now_view.status == "SETTLED"
    then = q.transaction(held.transaction_id, as_of=after_booking)
    assert then is not None and then.status == "HELD"
    assert then.updated_at <= after_booking
    assert q.transaction(held.transaction_id, as_of=released_at).status == "POSTED"  # type: ignore[union-attr]
    assert q.transaction(held.transaction_id, as_of=START) is None
    assert q.status_history([held.transaction_id], as_of=after_booking)[held.transaction_id][
        -1
    ].status == ("HELD")

    original = q.transaction(posted.transaction_id)
    assert original is not None
    assert original.status == "REVERSED" and original.reversed_by == reversal.transaction_id
    assert original.channel == "WEB" and original.screening_outcome == "APPROVE"
    assert str(original.amount) == "10.00"
    before_reversal = q.transaction(posted.transaction_id, as_of=released_at)
    assert before_reversal is not None
    assert before_reversal.status == "POSTED" and before_reversal.reversed_by is None
    mirror = q.transaction(reversal.transaction_id)
    assert mirror is not None
    assert mirror.reverses == posted.transaction_id and mirror.status == "POSTED"
    assert (mirror.debtor_iban, mirror.creditor_iban) == (b, a)

    rejected = q.transaction(declined.transaction_id)
    assert rejected is not None
    assert rejected.rejection_reason == "SCREENING_DECLINED" and rejected.rule_hits
    no_account = q.transaction(unknown.transaction_id)
    assert no_account is not None
    assert no_account.status == "REJECTED" and no_account.rejection_reason == "UNKNOWN_ACCOUNT"
    assert no_account.screening_outcome is None

    by_ids = q.transactions_by_ids([posted.transaction_id, reversal.transaction_id, "nope"])
    assert set(by_ids) == {posted.transaction_id, reversal.transaction_id}
    every = [posted, held, declined, unknown, reversal]
    for at in (START, after_booking, released_at, ledger.clock.now):
        then_ids = q.transactions_by_ids([r.transaction_id for r in every], as_of=at)
        expected = {r.transaction_id: q.transaction(r.transaction_id, as_of=at) for r in every}
        assert then_ids == {k: v for k, v in expected.items() if v is not None}
    assert q.transactions_by_ids([]) == {}


def test_audit_rows_carry_actor_correlation_and_channel(ledger: Ledger) -> None:
    a = ledger.open(1)
    b = ledger.open(2, overdraft="10")
    causation = Causation(actor="user:alice", correlation_id="corr-42", channel="GRAPHQL")
    with caused_by(causation):
        ledger.app.freeze_account(a, "suspicious login")
    with caused_by(Causation(actor="service:ingestion", correlation_id="c-9", channel="REST")):
        result = ledger.pay("a1", b, iban(3, "FR"), "1.50")
    ledger.projector.catch_up()
    q = ledger.queries

    trail = [node for _, node in q.audit_trail(stream_id=str(account_id(a)), first=10).edges]
    assert [e.event_type for e in trail] == ["Account.Opened", "Account.Frozen"]
    frozen = trail[-1]
    assert (frozen.actor, frozen.correlation_id, frozen.channel) == (
        "user:alice",
        "corr-42",
        "GRAPHQL",
    )
    assert frozen.payload == {"reason": "suspicious login"}
    assert frozen.stream_type == "Account" and frozen.context == "ledger"
    assert frozen.version == 2 and frozen.recorded_at.utcoffset() == timedelta(0)

    tx_events = [node for _, node in q.audit_trail(stream_id=result.transaction_id, first=10).edges]
    assert [e.event_type for e in tx_events] == [
        "Transaction.Received",
        "Transaction.Screened",
        "Transaction.Posted",
    ]
    assert {(e.actor, e.correlation_id, e.channel) for e in tx_events} == {
        ("service:ingestion", "c-9", "REST")
    }
    received = tx_events[0].payload
    assert received["amount"] == "1.50" and received["metadata"] == {"deviceId": "d-1"}
    assert "originator_id" not in received and "timestamp" not in received
    posted = tx_events[2].payload
    assert posted["postings"][0]["account_id"] == str(account_id(b))
    assert posted["postings"][0]["amount"] == "-1.50"

    everything = walk(q.audit_trail, first=4)
    assert [e.position for e in everything] == list(range(1, ledger.source.head() + 1))
    window = [
        node
        for _, node in q.audit_trail(
            from_=frozen.recorded_at, to=frozen.recorded_at, first=50
        ).edges
    ]
    assert [e.event_type for e in window] == ["Account.Frozen"]


def test_keyset_pagination_walks_every_row_once(ledger: Ledger) -> None:
    accounts = [ledger.open(n, overdraft="1000") for n in range(1, 8)]
    ledger.app.freeze_account(accounts[3], "x")
    ids = []
    for n in range(23):
        debtor = accounts[n % 7] if n % 7 != 3 else accounts[0]
        creditor = accounts[(n + 2) % 7]
        ids.append(ledger.pay(f"k{n:02d}", debtor, creditor, f"{n + 1}.00").transaction_id)
    # one commit, many transactions with the same received-at: the id breaks the tie
    batch = [ledger.payment(f"m{n}", accounts[1], accounts[2], "1.00") for n in range(9)]
    ids += [r.transaction_id for r in ledger.app.submit_payments(batch)]
    ledger.projector.catch_up()
    q = ledger.queries

    for first in (1, 4, 10):
        txs = walk(lambda first, after: q.transactions(None, first, after), first)
        assert sorted(t.id for t in txs) == sorted(ids)
        assert len({t.id for t in txs}) == len(txs)
        keys = [(t.received_at, t.id) for t in txs]
        assert keys == sorted(keys, reverse=True)

    listed = walk(lambda first, after: q.accounts(first, after), 3)
    assert [v.key for v in listed] == sorted([*accounts, "clearing:EUR"])
    frozen = walk(lambda first, after: q.accounts(first, after, status="FROZEN"), 2)
    assert [v.key for v in frozen] == [accounts[3]]

    postings = walk(lambda first, after: q.postings(accounts[2], first, after), 2)
    assert len(postings) == len({p.account_version for p in postings})
    assert [p.account_version for p in postings] == sorted(
        (p.account_version for p in postings), reverse=True
    )
    assert postings == [node for _, node in q.postings(accounts[2], first=500).edges]
    middle = postings[len(postings) // 2].recorded_at
    as_of = walk(lambda first, after: q.postings(accounts[2], first, after, as_of=middle), 3)
    assert as_of == [p for p in postings if p.recorded_at <= middle]

    assert len(q.transactions(None, first=0).edges) == 1
    assert len(q.transactions(None, first=10_000).edges) == len(ids)
    for bad in ("garbage", "", "e30", q.accounts(1).end_cursor):
        with pytest.raises(ValueError, match="invalid cursor"):
            q.transactions(None, 5, bad)
    with pytest.raises(ValueError, match="invalid cursor"):
        q.postings(accounts[2], 5, q.transactions(None, 1).end_cursor)


def test_transaction_filters(ledger: Ledger) -> None:
    a = ledger.open(1, overdraft="500")
    b = ledger.open(2)
    outsider = iban(4, "FR")
    r1 = ledger.pay("f1", a, b, "10.00", channel="MOBILE")
    r2 = ledger.pay("f2", outsider, b, "1500.00", channel="WEB")  # incoming: not screened
    cut = ledger.clock.now
    r3 = ledger.pay("f3", b, outsider, "1200.00", channel="WEB")  # held
    r4 = ledger.pay("f4", a, b, "9999.00", channel="MOBILE")  # declined
    r5 = ledger.pay("f5", iban(5, "FR"), outsider, "3.00", channel="BRANCH")  # unknown
    ledger.projector.catch_up()
    q = ledger.queries

    def ids(**kw: Any) -> set[str]:
        page = q.transactions(TransactionFilter(**kw), first=500)
        return {t.id for _, t in page.edges}

    all_ids = {r.transaction_id for r in (r1, r2, r3, r4, r5)}
    assert ids() == all_ids
    spaced_b = " ".join(b[i : i + 4] for i in range(0, len(b), 4)).lower()
    assert ids(account=spaced_b) == {
        r1.transaction_id,
        r2.transaction_id,
        r3.transaction_id,
        r4.transaction_id,
    }
    assert ids(account="clearing:EUR") == {r2.transaction_id}  # posted via clearing
    assert ids(account=outsider) == {r2.transaction_id, r3.transaction_id, r5.transaction_id}
    assert ids(status="held") == {r3.transaction_id}
    assert ids(status="REJECTED") == {r4.transaction_id, r5.transaction_id}
    assert ids(channel="web") == {r2.transaction_id, r3.transaction_id}
    assert ids(min_amount=Decimal("1200")) == {
        r2.transaction_id,
        r3.transaction_id,
        r4.transaction_id,
    }
    assert ids(min_amount=Decimal("1200.01")) == {r2.transaction_id, r4.transaction_id}
    assert ids(max_amount=Decimal("10")) == {r1.transaction_id, r5.transaction_id}
    assert ids(min_amount=Decimal("3"), max_amount=Decimal("1500")) == {
        r1.transaction_id,
        r2.transaction_id,
        r3.transaction_id,
        r5.transaction_id,
    }
    assert ids(min_amount=Decimal("3.01"), max_amount=Decimal("1499.99")) == {
        r1.transaction_id,
        r3.transaction_id,
    }
    assert ids(max_amount=Decimal("-1")) == set()
    assert ids(to=cut) == {r1.transaction_id, r2.transaction_id}
    assert ids(from_=cut + timedelta(microseconds=1)) == {
        r3.transaction_id,
        r4.transaction_id,
        r5.transaction_id,
    }
    assert ids(channel="WEB", status="HELD", account=b, to=cut) == set()
