"""The Verification of Payee account directory (``rm_vop_directory``), on SQLite and PostgreSQL.

Property: for any sequence of openings (natural and legal persons, joint accounts, trading
names, identifiers), holder details changes, freezes and closures, processed in batches of
any size, every customer account's directory entry is what the write side says, internal
accounts are not in it, and a rebuild from zero gives exactly the rows incremental processing
gave. An ``Opened`` of an old log (no holder details) is a natural person without further
names.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.persistence import DatabaseConfig, event_store_env, read_model_engine
from application.errors import ApplicationError
from application.ledger.commands import OpenAccount
from application.vop.app import VopApplication
from application.vop.ports import DirectoryEntry
from application.vop.responder import VopEntry, VopRequest
from domain.iban import Iban
from domain.ledger.accounts import Account
from domain.ledger.holders import HolderDetails, holder_details
from projections.events import Envelope
from projections.runner.projector import Projector
from projections.runner.sources import EventSource
from projections.vop.checks import VopCheckFilter, VopCheckQueries
from projections.vop.directory import VopDirectoryProjection, rm_vop_directory
from projections.vop.queries import DirectoryQueries
from tests.integration.test_projection_support import dump_tables, fresh_like, iban, make_ledger

LEI = "529900T8BM49AURSDO55"
ACCOUNTS = 5
HOLDERS = [
    ("Max Muster", HolderDetails()),
    ("John Smith", holder_details("NATURAL", ["Jane Smith"])),
    ("Hugo Martínez", holder_details("NATURAL", ["Martínez Logistik"])),
    (
        "Weber Bau GmbH",
        holder_details("LEGAL", ["Weber Bau"], [("LEI", LEI), ("VAT", "DE123456789")]),
    ),
    ("Rossi S.r.l.", holder_details("LEGAL", [], [("NATIONAL", "MI-123456")])),
]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("open"), st.integers(0, ACCOUNTS - 1), st.integers(0, 4)),
        st.tuples(st.just("change"), st.integers(0, ACCOUNTS - 1), st.integers(0, 4)),
        st.tuples(st.just("freeze"), st.integers(0, ACCOUNTS - 1)),
        st.tuples(st.just("close"), st.integers(0, ACCOUNTS - 1)),
        st.tuples(st.just("pay_internal")),
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
@given(ops=operations, batch_size=st.sampled_from([1, 2, 7, 500]))
def test_the_directory_follows_the_ledger_and_rebuilds_identically(
    database: DatabaseConfig, ops: list[tuple[Any, ...]], batch_size: int
) -> None:
    base = Path(tempfile.mkdtemp(prefix="vop-directory-"))
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
    keys = [iban(n) for n in range(1, ACCOUNTS + 1)]
    projector = ledger.projector_for(batch_size=batch_size)
    for op in ops:
        try:
            if op[0] == "open":
                name, details = HOLDERS[op[2]]
                app.open_account(OpenAccount(Iban(keys[op[1]]), name, "EUR", Decimal(0), details))
            elif op[0] == "change":
                name, details = HOLDERS[op[2]]
                app.change_holder_details(keys[op[1]], name, details, "property")
            elif op[0] == "freeze":
                app.freeze_account(keys[op[1]], "property")
            elif op[0] == "close":
                app.close_account(keys[op[1]], "property")
            elif op[0] == "pay_internal":
                app.open_internal_account("suspense:EUR")
            else:
                projector.catch_up()
        except ApplicationError:
            pass  # refused: not open yet, closed, the same details again ...
    projector.catch_up()
    directory = DirectoryQueries(ledger.engine)
    found = directory.entries([*keys, "suspense:EUR"])
    expected = {}
    for key in keys:
        try:
            account = app.get_account(key)
        except ApplicationError:
            continue
        expected[key] = DirectoryEntry(
            iban=key,
            holder_type=account.holder.holder_type.value,
            legal_name=account.holder_name,
            further_names=account.holder.further_names,
            identifiers=tuple((i.scheme.value, i.value) for i in account.holder.identifiers),
            status="CLOSED" if account.status == "CLOSED" else "OPEN",
        )
    assert found == expected
    incremental = ledger.dump()
    projector.rebuild(VopDirectoryProjection.name)
    assert ledger.dump() == incremental


def test_an_opened_event_of_an_old_log_is_a_natural_person(database: DatabaseConfig) -> None:
    engine = read_model_engine(database)
    try:
        Projector(engine, []).create_tables()
        account = Account.open_customer(Iban(iban(1)), "Erika Muster", "EUR", Decimal(0))
        (event,) = account.collect_events()
        del event.__dict__["holder"]  # as stored before holder details existed
        internal = Account.open_internal("clearing:EUR").collect_events()[0]
        with engine.begin() as conn:
            VopDirectoryProjection().apply(
                conn, [Envelope("ledger", 1, event), Envelope("ledger", 2, internal)]
            )
        with engine.connect() as conn:
            rows = conn.execute(select(rm_vop_directory)).mappings().all()
        assert [(r["iban"], r["holder_type"], r["further_names"]) for r in rows] == [
            (iban(1), "NATURAL", [])
        ]
        assert DirectoryQueries(engine).entry(iban(1)) == DirectoryEntry(
            iban(1), "NATURAL", "Erika Muster", (), (), "OPEN"
        )
        assert DirectoryQueries(engine).entry(iban(2)) is None
    finally:
        engine.dispose()


def test_the_checks_read_model_rebuilds_identically(database: DatabaseConfig) -> None:
    """``rm_vop_checks``: one row per recorded check; a rebuild writes the same rows."""
    at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    person = DirectoryEntry(iban(1), "NATURAL", "John Smith", (), (), "OPEN")

    class Directory:
        def entries(self, ibans: Any) -> dict[str, DirectoryEntry]:
            return {i: person for i in ibans if i == person.iban}

    engine = read_model_engine(database)
    vop = VopApplication(env=event_store_env(database, "vop"), directory=Directory())
    try:
        for n, name in enumerate(["John Smith", "J. Smith", "Peter Miller"]):
            entries = (VopEntry(person.iban, name), VopEntry(iban(2), name))
            vop.respond(VopRequest(f"r-{n}", "BANKFRPPXXX", at, entries))
        projector = Projector(engine, [EventSource(vop)], batch_size=2)
        projector.create_tables()
        projector.catch_up()
        incremental = dump_tables(engine)
        assert len(incremental["rm_vop_checks"]) == 6
        projector.rebuild("vop_checks")
        assert dump_tables(engine) == incremental
        queries = VopCheckQueries(engine)
        noap = queries.checks(VopCheckFilter(outcome="NOAP"), 10, None)
        assert {view.reason for _, view in noap.edges} == {"ACCOUNT_UNKNOWN"}
        assert len(noap.edges) == 3
    finally:
        vop.close()
        engine.dispose()
