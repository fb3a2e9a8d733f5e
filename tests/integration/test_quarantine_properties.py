"""Property (issue #12, 1b): with poison events anywhere in the stream (an event a
projection raises on, an undecodable event, a deeply nested payment), processed
incrementally in batches of any size, every projection reaches the head, the same events
are quarantined for the same projections, and a rebuild from zero gives exactly the rows
and the open quarantine entries incremental processing gave."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.persistence import DatabaseConfig
from projections.runner.registry import PROJECTIONS
from tests.integration.test_projection_support import fresh_like, make_ledger
from tests.integration.test_quarantine import deep_payment, open_entries, stray_credit, undecodable

steps = st.lists(
    st.sampled_from(["pay", "pay", "stray", "undecodable", "deep", "catch_up"]),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=steps, batch_size=st.sampled_from([1, 2, 5, 500]))
def test_rebuild_equals_incremental_with_poison_events(
    database: DatabaseConfig, ops: list[str], batch_size: int
) -> None:
    base = Path(tempfile.mkdtemp(prefix="quarantine-prop-"))
    try:
        with fresh_like(database, base) as db:
            ledger = make_ledger(db)
            try:
                check(ledger, ops, batch_size)
            finally:
                ledger.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def check(ledger: Any, ops: list[str], batch_size: int) -> None:
    a, b = ledger.open(1, overdraft="100000"), ledger.open(2)
    projector = ledger.projector_for(batch_size=batch_size)
    expected: set[tuple[str, int]] = set()
    paid = strays = 0
    for n, op in enumerate(ops):
        if op == "pay":
            assert ledger.pay(f"p{n}", a, b, "1.00").status == "POSTED"
            paid += 1
        elif op == "stray":
            strays += 1
            expected.add(("accounts", stray_credit(ledger, nth=strays)))
        elif op == "undecodable":
            position = undecodable(ledger)
            expected |= {(name, position) for name in PROJECTIONS}
        elif op == "deep":
            deep_payment(ledger, a, b, depth=600 + n, external_id=f"deep{n}")
            paid += 1
        else:
            projector.catch_up()
    projector.catch_up()
    head = ledger.source.head()
    assert set(projector.positions().values()) == {head}
    entries = open_entries(projector)
    assert {(f, p) for f, _, p, _ in entries} == expected
    view = ledger.queries.account(b)
    assert view is not None and view.balance == paid
    incremental = ledger.dump()
    for name in PROJECTIONS:
        projector.rebuild(name)
    assert ledger.dump() == incremental
    assert open_entries(projector) == entries
