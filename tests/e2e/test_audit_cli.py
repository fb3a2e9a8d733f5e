"""``ledger audit verify`` and ``ledger audit head`` end to end, on both backends, against an
attacker who gets past the append-only triggers (PostgreSQL: the superuser disables them;
SQLite: someone with access to the files drops them)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters.persistence import DatabaseConfig
from api.cli.main import main
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from application.ledger.app import LedgerApplication
from domain.ledger.accounts import Account
from domain.ledger.ids import account_id
from tests.builders import iban, open_command, payment

pytestmark = pytest.mark.usefixtures("restore_logging")


@dataclass(frozen=True)
class Event:
    id: int
    originator_id: str
    version: int
    topic: str


def open_container(env: dict[str, str]) -> Container:
    return bootstrap(Settings.from_env(env))


def record(env: dict[str, str], payments: int = 2, *, chain: bool = True) -> list[Event]:
    """Book ``payments`` payments between two new accounts; chain them when ``chain``."""
    container = open_container(env)
    try:
        debtor, creditor = iban("DE"), iban("DE")
        container.ledger.open_account(open_command(debtor, overdraft="1000"))
        container.ledger.open_account(open_command(creditor))
        for _ in range(payments):
            container.ledger.submit_payment(payment(debtor=debtor, creditor=creditor))
        if chain:
            container.projector.catch_up()
        return [
            Event(n.id, str(n.originator_id), n.originator_version, n.topic)
            for n in container.sources[0].notifications(0, 10_000)
        ]
    finally:
        container.close()


def verify(env: dict[str, str], capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["audit", "verify", *args], env)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# ---------------------------------------------------------------------------- attacker


def as_attacker(database: DatabaseConfig, statement: str, *, read_models: bool = False) -> None:
    """Run ``statement`` with the append-only triggers out of the way."""
    if database.url is None:
        path = database.data_dir / ("read-models.sqlite" if read_models else "ledger-events.sqlite")
        table = "audit_chain" if read_models else "stored_events"
        with sqlite3.connect(path) as conn:
            for op in ("update", "delete"):
                conn.execute(f'DROP TRIGGER IF EXISTS "{table}_append_only_{op}"')
            conn.execute(statement)
        return
    table = f'"{database.schema}".{"audit_chain" if read_models else "ledger_events"}'
    with psycopg.connect(database.url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{database.schema}"')
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER append_only_rows")
        try:
            conn.execute(statement)
        finally:
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER append_only_rows")


def events_table(database: DatabaseConfig) -> str:
    return "stored_events" if database.url is None else f'"{database.schema}".ledger_events'


def where(database: DatabaseConfig, event: Event) -> str:
    key = "rowid" if database.url is None else "notification_id"
    return f"{key} = {event.id}"


def alter_state(database: DatabaseConfig, event: Event) -> None:
    """Append a space to the stored JSON: it decodes exactly as before."""
    new_state = "CAST(state || x'20' AS BLOB)" if database.url is None else "state || '\\x20'"
    as_attacker(
        database,
        f"UPDATE {events_table(database)} SET state = {new_state} WHERE {where(database, event)}",
    )


def delete_event(database: DatabaseConfig, event: Event) -> None:
    as_attacker(database, f"DELETE FROM {events_table(database)} WHERE {where(database, event)}")


def stored_event_hash(database: DatabaseConfig, event: Event) -> str:
    query = f"SELECT event_hash FROM audit_chain WHERE context = 'ledger' AND position = {event.id}"
    if database.url is None:
        with sqlite3.connect(database.data_dir / "read-models.sqlite") as conn:
            return str(conn.execute(query).fetchone()[0])
    with psycopg.connect(database.url) as conn:
        conn.execute(f'SET search_path TO "{database.schema}"')
        row = conn.execute(query).fetchone()
        assert row is not None
        return str(row[0])


# ------------------------------------------------------------------------------- tests


def test_an_intact_store_verifies(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    events = record(env)
    code, out = verify(env, capsys)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"ledger: intact; {len(events)} events, {len(events)} chained")
    assert lines[1].startswith("fraud: intact; 0 events")


def test_the_database_refuses_updates_and_deletes_of_events(
    env: dict[str, str], database: DatabaseConfig
) -> None:
    event = record(env)[1]
    statements = {
        "UPDATE": f"UPDATE {events_table(database)} SET topic = 'x' WHERE {where(database, event)}",
        "DELETE": f"DELETE FROM {events_table(database)} WHERE {where(database, event)}",
    }
    for operation, statement in statements.items():
        if database.url is None:
            with (
                pytest.raises(sqlite3.DatabaseError, match=f"{operation} on stored_events refused"),
                sqlite3.connect(database.data_dir / "ledger-events.sqlite") as conn,
            ):
                conn.execute(statement)
        else:
            with (
                pytest.raises(psycopg.errors.RaiseException, match=f"{operation} on .*_events"),
                psycopg.connect(database.url) as conn,
            ):
                conn.execute(statement)


def test_an_altered_event_is_named_as_the_first_broken_link(
    env: dict[str, str], database: DatabaseConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    events = record(env)
    target, later = events[2], events[4]
    recorded_hash = stored_event_hash(database, target)
    alter_state(database, later)
    alter_state(database, target)

    code, out = verify(env, capsys)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("ledger:")]
    assert f"BROKEN at #{target.id} (altered)" in line
    assert f"originator {target.originator_id} v{target.version}" in line
    assert target.topic in line
    assert f"expected {recorded_hash}, found " in line
    assert "fraud: intact" in out

    code, out = verify(env, capsys, "--json")
    assert code == 1
    document = json.loads(out)
    assert document["ok"] is False
    broken = document["contexts"][0]["broken"]
    assert (broken["kind"], broken["position"], broken["originator_id"]) == (
        "altered",
        target.id,
        target.originator_id,
    )
    assert broken["expected"] == recorded_hash != broken["found"]


def test_a_deleted_event_is_reported_as_a_gap(
    env: dict[str, str], database: DatabaseConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    events = record(env)
    target = events[3]
    delete_event(database, target)

    code, out = verify(env, capsys)
    assert code == 1
    assert f"ledger: BROKEN at #{target.id} (gap)" in out
    assert "missing from the log" in out
    assert f"originator {target.originator_id} v{target.version} topic {target.topic}" in out


def test_an_altered_stored_chain_is_detected(
    env: dict[str, str], database: DatabaseConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    events = record(env)
    target = events[1]
    forged = "0" * 64
    as_attacker(
        database,
        f"UPDATE audit_chain SET chain_hash = '{forged}' "
        f"WHERE context = 'ledger' AND position = {target.id}",
        read_models=True,
    )
    code, out = verify(env, capsys)
    assert code == 1
    assert f"ledger: BROKEN at #{target.id} (chain)" in out
    assert f"found {forged}" in out


def test_events_not_chained_yet_are_an_unchained_tail_not_an_error(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    chained = record(env)
    everything = record(env, payments=1, chain=False)
    code, out = verify(env, capsys)
    assert code == 0, out
    tail = len(everything) - len(chained)
    assert f"{len(chained)} chained" in out
    assert f"{tail} in the unchained tail (verified by recomputation)" in out


def head(env: dict[str, str], capsys: pytest.CaptureFixture[str], out: Path) -> dict[str, Any]:
    assert main(["audit", "head"], env) == 0
    printed = capsys.readouterr().out
    out.write_text(printed, encoding="utf-8")
    document: dict[str, Any] = json.loads(printed)
    return document


def test_head_chains_the_tail_and_prints_the_heads_as_json(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = record(env, chain=False)
    document = head(env, capsys, tmp_path / "anchor.json")
    heads = {h["context"]: h for h in document["heads"]}
    assert set(heads) == {
        "ledger",
        "fraud",
        "identity",
        "notifications",
        "reconciliation",
        "vop",
        "reports",
    }
    assert heads["ledger"]["position"] == events[-1].id
    assert len(heads["ledger"]["chain_hash"]) == 64
    assert heads["ledger"]["recorded_at"].endswith("+00:00")
    assert (heads["fraud"]["position"], heads["fraud"]["recorded_at"]) == (0, None)
    assert heads["identity"]["position"] == 0
    assert heads["reconciliation"]["position"] == 0

    code, out = verify(env, capsys, "--json")
    assert code == 0
    report = next(c for c in json.loads(out)["contexts"] if c["context"] == "ledger")
    assert (report["head"], report["head_hash"], report["tail"]) == (
        events[-1].id,
        heads["ledger"]["chain_hash"],
        0,
    )


def test_an_anchor_detects_a_rewrite_of_events_and_chain_together(
    env: dict[str, str],
    database: DatabaseConfig,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    events = record(env)
    anchor = tmp_path / "anchor.json"
    anchored = head(env, capsys, anchor)["heads"][0]
    record(env, payments=1)  # the log goes on after the anchor was taken

    code, out = verify(env, capsys, "--anchor", str(anchor))
    assert code == 0, out
    assert f"anchor #{anchored['position']} confirmed" in out

    # The attacker alters an event, then recomputes the whole stored chain over it.
    alter_state(database, events[1])
    as_attacker(database, "DELETE FROM audit_chain", read_models=True)
    container = open_container(env)
    try:
        with container.read_engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE rm_projection_tracking SET position = 0 WHERE projection = 'chain'"
            )
    finally:
        container.close()
    head(env, capsys, tmp_path / "rewritten.json")

    code, out = verify(env, capsys)
    assert code == 0, out  # consistent with itself: only the anchor can tell
    code, out = verify(env, capsys, "--anchor", str(anchor))
    assert code == 1
    assert f"ledger: BROKEN at #{anchored['position']} (anchor)" in out
    assert f"expected {anchored['chain_hash']}" in out


def test_a_bad_anchor_file_is_a_usage_error(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "anchor.json"
    bad.write_text('{"heads": []}', encoding="utf-8")
    code, out = verify(env, capsys, "--anchor", str(bad))
    assert code == 2
    assert "not an audit head document" in out


# --------------------------------------------------------------------------- snapshots


@pytest.fixture
def snapshot_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Snapshot every account every 2 events (500 in production), so tests take real ones."""
    monkeypatch.setattr(LedgerApplication, "snapshotting_intervals", {Account: 2})


def record_snapshotted(env: dict[str, str]) -> tuple[str, int]:
    """Book payments between two accounts (snapshotted every 2 events), freeze the debtor,
    chain everything; return the debtor's account id and version."""
    container = open_container(env)
    try:
        debtor, creditor = iban("DE"), iban("DE")
        container.ledger.open_account(open_command(debtor, overdraft="1000"))
        container.ledger.open_account(open_command(creditor))
        for _ in range(3):
            container.ledger.submit_payment(payment(debtor=debtor, creditor=creditor))
        frozen = container.ledger.freeze_account(debtor, "fraud suspected")
        container.projector.catch_up()
        return str(frozen.id), frozen.version
    finally:
        container.close()


def snapshot_table(database: DatabaseConfig) -> str:
    return "stored_snapshots" if database.url is None else f'"{database.schema}".ledger_snapshots'


def stored_id(database: DatabaseConfig, originator_id: str) -> str:
    """The originator id as the snapshots table keeps it (SQLite: UUID hex)."""
    return uuid.UUID(originator_id).hex if database.url is None else originator_id


def snapshot_rows(database: DatabaseConfig) -> list[tuple[str, int, str, bytes]]:
    columns = "originator_id, originator_version, topic, state"
    query = f"SELECT {columns} FROM {snapshot_table(database)}"
    if database.url is None:
        with sqlite3.connect(database.data_dir / "ledger-events.sqlite") as conn:
            rows = conn.execute(query).fetchall()
    else:
        with psycopg.connect(database.url) as conn:
            rows = conn.execute(query).fetchall()
    return [(str(r[0]), int(r[1]), str(r[2]), bytes(r[3])) for r in rows]


def insert_snapshot(
    database: DatabaseConfig,
    originator_id: str,
    version: int,
    topic: str,
    state: bytes,
    *,
    past_the_trigger: bool = False,
) -> None:
    """What an attacker with the application's role can do: INSERT (the append-only triggers
    allow it). A snapshot ahead of its events is refused by a trigger, unless
    ``past_the_trigger`` (PostgreSQL: the superuser disables it; SQLite: it is dropped)."""
    table = snapshot_table(database)
    if database.url is None:
        with sqlite3.connect(database.data_dir / "ledger-events.sqlite") as conn:
            if past_the_trigger:
                conn.execute('DROP TRIGGER IF EXISTS "stored_snapshots_snapshot_not_ahead"')
            conn.execute(
                f"INSERT INTO {table} VALUES (?, ?, ?, ?)",
                (stored_id(database, originator_id), version, topic, state),
            )
        return
    with psycopg.connect(database.url, autocommit=True) as conn:
        if past_the_trigger:
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER snapshot_not_ahead")
        try:
            conn.execute(
                f"INSERT INTO {table} VALUES (%s, %s, %s, %s)",
                (originator_id, version, topic, state),
            )
        finally:
            if past_the_trigger:
                conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER snapshot_not_ahead")


def forged_state(state: bytes) -> bytes:
    """A snapshot state with the account OPEN and a balance of 1,000,000.00."""
    document = json.loads(state)
    aggregate = document["state"]  # the snapshot event's state holds the aggregate's
    aggregate["status"] = "OPEN"
    aggregate["balance"] = {"_type_": "decimal_str", "_data_": "1000000.00"}
    return json.dumps(document, separators=(",", ":")).encode()


def test_an_intact_store_with_snapshots_verifies(
    env: dict[str, str],
    database: DatabaseConfig,
    capsys: pytest.CaptureFixture[str],
    snapshot_often: None,
) -> None:
    debtor, _version = record_snapshotted(env)
    rows = snapshot_rows(database)
    assert len(rows) >= 4
    assert stored_id(database, debtor) in {r[0] for r in rows}
    originators = len({r[0] for r in rows})

    code, out = verify(env, capsys)
    assert code == 0, out
    assert f"ledger snapshots: intact; {len(rows)} snapshots of {originators} originators" in out
    assert "fraud snapshots: none" in out
    assert "identity snapshots: intact; 0 snapshots" in out

    code, out = verify(env, capsys, "--json")
    assert code == 0, out
    document = json.loads(out)
    ledger = next(r for r in document["snapshots"] if r["context"] == "ledger")
    assert (ledger["ok"], ledger["snapshots"], ledger["problems"]) == (True, len(rows), [])


def test_a_forged_snapshot_is_named_and_fails_verify(
    env: dict[str, str],
    database: DatabaseConfig,
    capsys: pytest.CaptureFixture[str],
    snapshot_often: None,
) -> None:
    debtor, version = record_snapshotted(env)
    taken = {(r[0], r[1]) for r in snapshot_rows(database)}
    assert (stored_id(database, debtor), version) not in taken  # the current version is free
    _id, _v, topic, state = max(
        (r for r in snapshot_rows(database) if r[0] == stored_id(database, debtor)),
        key=lambda r: r[1],
    )
    insert_snapshot(database, debtor, version, topic, forged_state(state))

    # The application loads the forgery: the frozen account is open and rich.
    container = open_container(env)
    try:
        loaded = container.ledger.repository.get(uuid.UUID(debtor))
        assert (loaded.status, str(loaded.balance)) == ("OPEN", "1000000.00")
    finally:
        container.close()

    code, out = verify(env, capsys)
    assert code == 1, out
    assert "ledger: intact" in out  # the chain cannot see it
    (line,) = [line for line in out.splitlines() if f"originator {debtor} v{version}" in line]
    assert line.startswith("ledger snapshots: BAD snapshot")
    assert "(differs)" in line
    differing = line.partition("differing: ")[2].split(", ")
    assert {"balance", "status"} <= set(differing)  # (and _modified_on: forged from v-1)

    code, out = verify(env, capsys, "--json")
    assert code == 1
    document = json.loads(out)
    assert document["ok"] is False
    ledger = next(r for r in document["snapshots"] if r["context"] == "ledger")
    (problem,) = ledger["problems"]
    assert (problem["kind"], problem["originator_id"], problem["version"]) == (
        "differs",
        debtor,
        version,
    )
    assert problem["attributes"] == differing


def test_a_snapshot_of_no_events_or_beyond_them_is_reported(
    env: dict[str, str],
    database: DatabaseConfig,
    capsys: pytest.CaptureFixture[str],
    snapshot_often: None,
) -> None:
    debtor, version = record_snapshotted(env)
    _id, _v, topic, state = snapshot_rows(database)[0]
    nobody = str(account_id(iban("DE")))  # an account that was never opened
    error = sqlite3.DatabaseError if database.url is None else psycopg.DatabaseError
    for originator, at in ((nobody, 2), (debtor, version + 1)):
        with pytest.raises(error, match="a snapshot cannot be ahead of its events"):
            insert_snapshot(database, originator, at, topic, state)
    insert_snapshot(database, nobody, 2, topic, state, past_the_trigger=True)

    code, out = verify(env, capsys)
    assert code == 1, out
    assert f"originator {nobody} v2 (orphan): the originator has no events" in out

    insert_snapshot(database, debtor, version + 1, topic, state, past_the_trigger=True)
    code, out = verify(env, capsys, "--json")
    assert code == 1
    ledger = next(r for r in json.loads(out)["snapshots"] if r["context"] == "ledger")
    found = {(p["kind"], p["originator_id"], p["version"]) for p in ledger["problems"]}
    assert found == {("orphan", nobody, 2), ("ahead", debtor, version + 1)}
