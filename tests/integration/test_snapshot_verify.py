"""The snapshot check of ``ledger audit verify`` on both backends: real snapshots of the
ledger's accounts and of the identity context's pending-request index verify; a forged or
undecodable snapshot row is named by originator and version."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from uuid import UUID

import psycopg
import pytest
from eventsourcing.domain import Snapshot

from adapters.audit.snapshot_verify import verify_application
from adapters.persistence import DatabaseConfig, event_store_env
from application.identity.app import IdentityApplication
from application.identity.principals import Requester
from application.ledger.app import LedgerApplication
from domain.causation import Causation, caused_by
from domain.identity.permissions import ChangeKind, permissions_of
from domain.identity.requests import PENDING_INDEX_ID, PendingRequests
from domain.ledger.accounts import Account
from domain.ledger.ids import account_id
from tests.integration.test_projection_support import Ledger, iban, make_ledger

ALICE = Requester("user:alice", permissions_of({"admin"}))


@pytest.fixture
def ledger(database: DatabaseConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    monkeypatch.setattr(LedgerApplication, "snapshotting_intervals", {Account: 3})
    built = make_ledger(database)
    built.open(1, overdraft="1000")
    built.open(2)
    built.open(3)
    try:
        yield built
    finally:
        built.close()


def book(ledger: Ledger, payments: int) -> None:
    for n in range(payments):
        ledger.pay(f"snap-{n}", iban(1), iban(2 + n % 2), "1.25")


def insert(database: DatabaseConfig, context: str, row: tuple[object, ...]) -> None:
    if database.url is None:
        originator_id = row[0].hex if isinstance(row[0], UUID) else row[0]
        with sqlite3.connect(database.data_dir / f"{context}-events.sqlite") as conn:
            conn.execute(
                "INSERT INTO stored_snapshots VALUES (?, ?, ?, ?)", (originator_id, *row[1:])
            )
        return
    with psycopg.connect(database.url) as conn:
        conn.execute(
            f'INSERT INTO "{database.schema}".{context}_snapshots VALUES (%s, %s, %s, %s)', row
        )


def test_real_ledger_snapshots_verify_in_one_pass_per_originator(ledger: Ledger) -> None:
    book(ledger, 10)
    report = verify_application("ledger", ledger.app, page=2)  # pages split originators
    assert report.ok, report.describe()
    assert report.originators >= 3
    assert report.snapshots >= 6
    # one fold per originator, up to its last snapshot: never more events than recorded
    assert report.events <= ledger.source.head()


def test_events_are_read_in_pages(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    book(ledger, 10)
    whole = verify_application("ledger", ledger.app)
    monkeypatch.setattr("adapters.audit.snapshot_verify.EVENT_PAGE", 2)
    paged = verify_application("ledger", ledger.app)
    assert paged.ok, paged.describe()
    assert (paged.snapshots, paged.events) == (whole.snapshots, whole.events)


def test_a_snapshot_at_no_event_version_is_named(ledger: Ledger, database: DatabaseConfig) -> None:
    """Version 0 (the trigger refuses it where it is installed; this store has none)."""
    book(ledger, 4)
    assert ledger.app.snapshots is not None
    (first,) = ledger.app.snapshots.get(account_id(iban(1)), limit=1)
    stored = ledger.app.mapper.to_stored_event(first)  # a real snapshot's bytes, at v0
    insert(database, "ledger", (account_id(iban(1)), 0, stored.topic, stored.state))
    report = verify_application("ledger", ledger.app)
    assert [(p.kind, p.version) for p in report.problems] == [("unmatched", 0)]


def test_an_undecodable_snapshot_row_is_named(ledger: Ledger, database: DatabaseConfig) -> None:
    book(ledger, 4)
    account = ledger.app.repository.get(account_id(iban(1)))
    assert account.version % 3 != 0  # not snapshotted yet
    insert(
        database,
        "ledger",
        (account.id, account.version, "eventsourcing.domain:Snapshot", b"not json"),
    )
    report = verify_application("ledger", ledger.app)
    assert not report.ok
    (problem,) = report.problems
    assert (problem.kind, problem.originator_id, problem.version) == (
        "undecodable",
        str(account.id),
        account.version,
    )


def test_real_identity_snapshots_verify_and_a_forged_entry_is_found(
    database: DatabaseConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(IdentityApplication, "snapshotting_intervals", {PendingRequests: 2})
    app = IdentityApplication(env=event_store_env(database, "identity"))
    try:
        with caused_by(Causation(actor="user:root", channel="CLI")):
            app.provision_user("alice", ["admin"])
            for name in ("olga", "fred", "vic", "carl"):
                app.provision_user(name, [])
                app.request_change(ChangeKind.GRANT_ROLE, name, {"role": "viewer"}, ALICE)
        index = app.repository.get(PENDING_INDEX_ID)
        assert index.version >= 5
        report = verify_application("identity", app)
        assert report.ok, report.describe()
        assert report.snapshots == index.version // 2

        # The attacker hides a pending request: an exact snapshot of the current version
        # (not snapshotted yet), less one entry of the index.
        assert index.version % 2 == 1
        stored = app.mapper.to_stored_event(Snapshot.take(index))
        document = json.loads(stored.state)
        document["state"]["entries"].popitem()
        forged = json.dumps(document, separators=(",", ":")).encode()
        insert(database, "identity", (PENDING_INDEX_ID, index.version, stored.topic, forged))
        report = verify_application("identity", app)
        assert not report.ok
        (problem,) = report.problems
        assert (problem.kind, problem.originator_id, problem.version) == (
            "differs",
            str(PENDING_INDEX_ID),
            index.version,
        )
        assert problem.attributes == ("entries",)
    finally:
        app.close()
