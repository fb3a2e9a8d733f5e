"""Property: however the log is chained (batches of any size, catch-ups at any moment, the
projections alongside or not), the stored chain is the chain a rebuild from zero computes:
the same links as ``ledger audit verify``'s recomputation and as a fresh chain follower
writing into an empty read-model database."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from adapters.persistence import DatabaseConfig, read_model_engine
from application.errors import ApplicationError
from projections.audit.chain import audit_chain
from projections.audit.chain_verify import verify_chain
from projections.runner.projector import Projector
from tests.integration.test_projection_support import Ledger, fresh_like, iban, make_ledger

operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(1, 3), st.integers(1, 3), st.integers(1, 400_000)),
        st.tuples(st.just("freeze"), st.integers(1, 3)),
        st.tuples(st.just("catch_up")),
    ),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=operations,
    batch_size=st.sampled_from([1, 2, 7, 500]),
    with_projections=st.booleans(),
)
def test_incremental_chain_equals_the_chain_rebuilt_from_zero(
    database: DatabaseConfig, ops: list[tuple[Any, ...]], batch_size: int, with_projections: bool
) -> None:
    base = Path(tempfile.mkdtemp(prefix="chain-prop-"))
    try:
        with fresh_like(database, base) as db, fresh_like(database, base) as other:
            ledger = make_ledger(db)
            rebuilt = read_model_engine(other)
            ledger.extra_engines.append(rebuilt)
            try:
                check_example(ledger, rebuilt, ops, batch_size, with_projections)
            finally:
                ledger.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def check_example(
    ledger: Ledger,
    rebuilt: Engine,
    ops: list[tuple[Any, ...]],
    batch_size: int,
    with_projections: bool,
) -> None:
    projector = Projector(
        ledger.engine,
        [ledger.source],
        projections=None if with_projections else [],
        batch_size=batch_size,
        chain=True,
    )
    projector.create_tables()
    for number in (1, 2, 3):
        ledger.open(number, overdraft="500")
    for n, op in enumerate(ops):
        try:
            if op[0] == "pay":
                ledger.pay(f"p{n}", iban(op[1]), iban(op[2]), f"{op[3] / 100:.2f}")
            elif op[0] == "freeze":
                ledger.app.freeze_account(iban(op[1]), "property")
            else:
                projector.catch_up()
        except ApplicationError:
            pass  # refused commands still leave the log as it is
    projector.catch_up()

    incremental = links(ledger.engine)
    assert [row[1] for row in incremental] == [
        n.id for n in ledger.source.notifications(0, 100_000)
    ]
    report = verify_chain(ledger.source, ledger.engine, page=5)
    assert report.ok, report.describe()
    assert report.tail == 0
    assert report.recomputed_hash == incremental[-1][-1]

    from_zero = Projector(rebuilt, [ledger.source], projections=[], chain=True)
    from_zero.create_tables()
    from_zero.catch_up()
    assert links(rebuilt) == incremental


def links(engine: Engine) -> list[tuple[Any, ...]]:
    c = audit_chain.c
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    c.context,
                    c.position,
                    c.originator_id,
                    c.originator_version,
                    c.topic,
                    c.event_hash,
                    c.recorded_at,
                    c.chain_hash,
                ).order_by(c.context, c.position)
            )
        ]
