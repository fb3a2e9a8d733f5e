"""Property: for any sequence of payments, holds, releases, reversals and freezes,
processed incrementally in batches of any size,

* every account's projected balance and held amount equal the write side's,
* as of every recorded instant each account shows the state it had then,
* per currency the balances sum to zero and debits equal credits,
* and a rebuild from zero gives exactly the rows incremental processing gave.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.persistence import DatabaseConfig
from application.errors import ApplicationError
from projections.runner.registry import PROJECTIONS
from tests.builders import ledger_balance
from tests.integration.test_projection_support import fresh_like, iban, make_ledger

OURS = 4
PARTIES = [iban(n) for n in range(1, OURS + 1)] + [iban(90, "FR"), iban(91, "FR")]
OVERDRAFTS = ["0", "100", "2000", "0"]

cents = st.integers(min_value=1, max_value=650_000)  # review above 1000, decline above 5000
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("pay"),
            st.integers(0, len(PARTIES) - 1),
            st.integers(0, len(PARTIES) - 1),
            cents,
        ),
        st.tuples(st.just("release"), st.integers(0, 5)),
        st.tuples(st.just("reject"), st.integers(0, 5)),
        st.tuples(st.just("reverse"), st.integers(0, 9)),
        st.tuples(st.just("freeze"), st.integers(0, OURS - 1)),
        st.tuples(st.just("unfreeze"), st.integers(0, OURS - 1)),
        st.tuples(st.just("catch_up")),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, batch_size=st.sampled_from([1, 3, 17, 500]))
def test_projections_follow_the_ledger_and_rebuild_identically(
    database: DatabaseConfig, ops: list[tuple[Any, ...]], batch_size: int
) -> None:
    base = Path(tempfile.mkdtemp(prefix="projection-prop-"))
    try:
        with fresh_like(database, base) as db:
            ledger = make_ledger(db)
            try:
                check_example(ledger, ops, batch_size)
            finally:
                ledger.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def check_example(ledger: Any, ops: list[tuple[Any, ...]], batch_size: int) -> None:
    app = ledger.app
    for number, overdraft in enumerate(OVERDRAFTS, start=1):
        ledger.open(number, overdraft=overdraft)
    ledger.pay("fund", PARTIES[4], PARTIES[0], "3000.00")
    projector = ledger.projector_for(batch_size=batch_size)
    held: list[str] = []
    posted: list[str] = []
    snapshots: list[tuple[datetime, dict[str, dict[str, Any]]]] = []
    for n, op in enumerate(ops):
        try:
            if op[0] == "pay":
                _, debtor, creditor, amount = op
                result = ledger.pay(
                    f"p{n}", PARTIES[debtor], PARTIES[creditor], str(Decimal(amount) / 100)
                )
                {"HELD": held, "POSTED": posted}.get(result.status, []).append(
                    result.transaction_id
                )
            elif op[0] in ("release", "reject") and held:
                tx = held.pop(op[1] % len(held))
                if op[0] == "release":
                    result = app.release_held(UUID(tx))
                    if result.status == "POSTED":
                        posted.append(tx)
                else:
                    app.reject_held(UUID(tx), "analyst said no")
            elif op[0] == "reverse" and posted:
                app.reverse(UUID(posted.pop(op[1] % len(posted))), "reversed")
            elif op[0] == "freeze":
                app.freeze_account(PARTIES[op[1]], "property")
            elif op[0] == "unfreeze":
                app.unfreeze_account(PARTIES[op[1]], "property")
            elif op[0] == "catch_up":
                projector.catch_up()
        except ApplicationError:
            pass  # refused commands (freeze twice, reverse into a frozen account ...)
        snapshots.append((ledger.clock.now, write_side(ledger)))
    projector.catch_up()
    q = ledger.queries

    for key, state in write_side(ledger).items():
        view = q.account(key)
        assert view is not None
        assert (view.balance, view.held, view.status) == (
            state["balance"],
            state["held"],
            state["status"],
        )
    for instant, states in snapshots:
        for key, state in states.items():
            then = q.account(key, as_of=instant)
            assert then is not None
            assert (then.balance, then.held, then.status) == (
                state["balance"],
                state["held"],
                state["status"],
            )
    for as_of in (None, snapshots[len(snapshots) // 2][0]):
        trial = q.trial_balance(as_of=as_of)
        for totals in trial.totals:
            assert totals.balance_sum == 0
            assert totals.debits == totals.credits

    incremental = ledger.dump()
    for name in PROJECTIONS:
        projector.rebuild(name)
    assert ledger.dump() == incremental


def write_side(ledger: Any) -> dict[str, dict[str, Any]]:
    """Every account's state by the write side; clearing's balance is the sum of its legs
    (a payment never writes its aggregate) and it holds nothing."""
    states = {}
    for key in [*PARTIES[:OURS], "clearing:EUR"]:
        try:
            states[key] = ledger.app.get_account(key).state()
        except ApplicationError:
            continue
    if "clearing:EUR" in states:
        states["clearing:EUR"]["balance"] = ledger_balance(ledger.app, "clearing:EUR")
    return states
