"""Reconciliation end to end: GraphQL import, lists and resolve with tokens, the inbox worker,
and the ``ledger reconcile`` CLI, on both backends."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.statements import camt053
from adapters.statements import inbox as inbox_module
from adapters.statements.inbox import StatementInbox
from api.cli.main import main
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.reconciliation_role import reconciliation_workers
from api.runtime.settings import Settings
from api.security import Principal
from tests.builders import FakeClock, iban
from tests.camt053_support import Entry, StatementSpec, build_camt053
from tests.e2e.conftest import SUPERUSER, client_as, gql, gql_errors, open_account, pay

DAY = date(2026, 11, 23)
RITA = Principal("user:rita", frozenset({"reconciler"}))
VIEWER = Principal("user:vic", frozenset({"viewer"}))
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures/camt053/nl-abn-camt053.001.02.xml"

IMPORT = """
mutation($xml: String!) { importStatement(xml: $xml) {
  id statementId account status fresh entryCount matchedCount breakCount openBreakCount
  closingBalance { amount currency } ledgerClosingBalance { amount }
  entries { amount { amount } endToEndId matchedTransactionId matchRule }
  breaks { id kind status statementAmount { amount } ledgerAmount { amount } } } }
"""
RESOLVE = """
mutation($id: ID!, $reason: String!) { resolveBreak(id: $id, reason: $reason) {
  id status reason resolvedBy resolvedAt kind } }
"""


def booked_statement(client: TestClient, statement_id: str = "S-1", **overrides: Any) -> bytes:
    """Book three payments on a new account; the statement core banking sends for it."""
    account = open_account(client, overdraft="500")
    pay(
        client,
        debtor=iban("NL"),
        creditor=account,
        amount="300.00",
        external_id=f"{statement_id}-E2E-IN-1",
    )
    pay(
        client,
        debtor=account,
        creditor=iban("FR"),
        amount="45.50",
        external_id=f"{statement_id}-E2E-OUT-1",
    )
    pay(
        client,
        debtor=account,
        creditor=iban("FR"),
        amount="4.50",
        external_id=f"{statement_id}-E2E-OUT-2",
    )
    spec = StatementSpec(
        account=account,
        currency="EUR",
        from_date=DAY,
        to_date=DAY,
        opening=Decimal("0"),
        closing=Decimal("250.00"),
        entries=[
            Entry(Decimal("300.00"), DAY, f"{statement_id}-E2E-IN-1"),
            Entry(Decimal("-45.50"), DAY, f"{statement_id}-E2E-OUT-1"),
            Entry(Decimal("-4.50"), DAY, f"{statement_id}-E2E-OUT-2"),
        ],
        statement_id=statement_id,
    )
    for key, value in overrides.items():
        setattr(spec, key, value)
    return build_camt053(spec, 8)


def events_of(container: Container) -> int:
    assert container.reconciliation is not None
    return int(container.reconciliation.recorder.max_notification_id() or 0)


def test_import_list_and_resolve_over_graphql(container: Container, client: TestClient) -> None:
    xml = booked_statement(client).decode()
    wrong = booked_statement(client, "S-2", closing=Decimal("251.00")).decode()
    with client_as(container, RITA) as rita:
        [clean] = gql(rita, IMPORT, {"xml": xml})["importStatement"]
        assert (clean["status"], clean["fresh"], clean["matchedCount"], clean["breaks"]) == (
            "RECONCILED",
            True,
            3,
            [],
        )
        assert clean["ledgerClosingBalance"] == {"amount": "250.00"}
        assert all(e["matchRule"] == "REFERENCE" for e in clean["entries"])
        [again] = gql(rita, IMPORT, {"xml": xml})["importStatement"]
        assert (again["id"], again["fresh"]) == (clean["id"], False)

        [broken] = gql(rita, IMPORT, {"xml": wrong})["importStatement"]
        assert broken["status"] == "OPEN_BREAKS"
        [item] = broken["breaks"]
        assert (item["kind"], item["status"]) == ("CLOSING_BALANCE_MISMATCH", "OPEN")
        assert (item["statementAmount"], item["ledgerAmount"]) == (
            {"amount": "251.00"},
            {"amount": "250.00"},
        )

        container.projector.catch_up()
        listed = gql(rita, "{ reconciliations(first: 10) { edges { node { id status } } } }")
        assert [e["node"]["status"] for e in listed["reconciliations"]["edges"]] == [
            "OPEN_BREAKS",
            "RECONCILED",
        ]
        one = gql(
            rita,
            "query($id: ID!) { reconciliation(id: $id) { statementId breaks { id kind } } }",
            {"id": broken["id"]},
        )["reconciliation"]
        assert one == {"statementId": "S-2", "breaks": [{"id": item["id"], "kind": item["kind"]}]}

        errors = gql_errors(rita, RESOLVE, {"id": item["id"], "reason": "  "})
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        resolved = gql(rita, RESOLVE, {"id": item["id"], "reason": "fee booked next day"})
        assert resolved["resolveBreak"]["status"] == "RESOLVED"
        assert resolved["resolveBreak"]["resolvedBy"] == "user:rita"
        errors = gql_errors(rita, RESOLVE, {"id": item["id"], "reason": "again"})
        assert errors[0]["extensions"]["code"] == "CONFLICT"
        container.projector.catch_up()
        breaks = gql(
            rita,
            "{ reconciliationBreaks(status: RESOLVED) { edges { node { id reason } } } }",
        )["reconciliationBreaks"]["edges"]
        assert [e["node"] for e in breaks] == [{"id": item["id"], "reason": "fee booked next day"}]
        opened = gql(rita, "{ reconciliationBreaks(status: OPEN) { edges { node { id } } } }")
        assert opened["reconciliationBreaks"]["edges"] == []


def test_a_malformed_statement_is_bad_user_input_and_records_nothing(
    container: Container,
) -> None:
    with client_as(container, RITA) as rita:
        for xml, reason in (
            ("<not xml", "not well-formed XML"),
            ('<Document xmlns="urn:x"/>', "not a camt.053 statement"),
            (FIXTURE.read_text().replace('<Amt Ccy="EUR">754.25</Amt>', "", 1), "Amt: required"),
        ):
            [error] = gql_errors(rita, IMPORT, {"xml": xml})
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert reason in error["message"]
    assert events_of(container) == 0


def test_a_statement_id_reused_with_other_content_is_a_conflict(
    container: Container, client: TestClient
) -> None:
    xml = booked_statement(client, "S-C")
    changed = xml.replace(b">250.00</Amt>", b">251.00</Amt>", 1)  # the closing balance
    assert changed != xml
    with client_as(container, RITA) as rita:
        [first] = gql(rita, IMPORT, {"xml": xml.decode()})["importStatement"]
        assert first["status"] == "RECONCILED"
        [error] = gql_errors(rita, IMPORT, {"xml": changed.decode()})
        assert error["extensions"]["code"] == "CONFLICT"
        assert "statement S-C of " in error["message"]
        assert "imported before with different content" in error["message"]
    assert events_of(container) == 2
    # the inbox rejects it with the reason
    inbox = container.settings.reconciliation_inbox_dir
    inbox.mkdir(parents=True)
    (inbox / "again.xml").write_bytes(changed)
    [worker] = reconciliation_workers(container)
    assert worker.run_once() == 1
    assert (inbox / "rejected" / "again.xml").read_bytes() == changed
    reason = (inbox / "rejected" / "again.xml.reason").read_text()
    assert "imported before with different content" in reason
    assert events_of(container) == 2


def test_the_real_statement_of_an_account_we_do_not_hold(container: Container) -> None:
    with client_as(container, RITA) as rita:
        [result] = gql(rita, IMPORT, {"xml": FIXTURE.read_text()})["importStatement"]
    assert result["account"] == "NL77ABNA0574908765"
    assert [b["kind"] for b in result["breaks"]] == ["UNKNOWN_ACCOUNT"]
    assert result["entryCount"] == 3


def test_a_viewer_may_neither_import_nor_read(container: Container) -> None:
    with client_as(container, VIEWER) as viewer:
        for document in (
            IMPORT,
            "{ reconciliations { edges { node { id } } } }",
            "{ reconciliationBreaks { edges { node { id } } } }",
        ):
            [error] = gql_errors(viewer, document, {"xml": "<x/>"})
            assert error["extensions"]["code"] == "FORBIDDEN", error
    with client_as(container, Principal("service:ch", frozenset({"channel"}), "service")) as svc:
        response = svc.post("/graphql", json={"query": IMPORT, "variables": {"xml": "<x/>"}})
        assert response.status_code == 403
    assert events_of(container) == 0


# --------------------------------------------------------------------------- inbox


def test_the_inbox_worker_imports_good_files_and_rejects_bad_ones(
    container: Container, client: TestClient
) -> None:
    inbox = container.settings.reconciliation_inbox_dir
    assert inbox == container.settings.data_dir / "reconciliation" / "inbox"
    inbox.mkdir(parents=True)
    good = booked_statement(client)
    (inbox / "a-good.xml").write_bytes(good)
    (inbox / "b-bad.xml").write_text("<Document><BkToCstmrStmt/></Document>")
    (inbox / "c-partial.xml.part").write_bytes(good[:100])  # still being written
    os.utime(inbox / "a-good.xml", (1, 1))  # oldest first
    [worker] = reconciliation_workers(container)
    assert worker.name == "reconciliation-inbox"
    assert worker.idle_wait == pytest.approx(2.0)

    assert worker.run_once() == 2
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["c-partial.xml.part"]
    assert (inbox / "processed" / "a-good.xml").read_bytes() == good
    assert (inbox / "rejected" / "b-bad.xml").exists()
    reason = (inbox / "rejected" / "b-bad.xml.reason").read_text()
    assert "Stmt" in reason
    assert worker.run_once() == 0  # nothing left but the .part

    # the producer finishes its file; the same statement again is idempotent and kept
    (inbox / "c-partial.xml.part").write_bytes(good)
    (inbox / "c-partial.xml.part").rename(inbox / "a-good.xml")
    assert worker.run_once() == 1
    assert (inbox / "processed" / "a-good.xml.1").exists()
    assert events_of(container) == 2  # one import: Imported + Reconciled

    container.projector.catch_up()
    assert container.reconciliation_queries is not None
    [(_cursor, view)] = container.reconciliation_queries.reconciliations(None, 5, None).edges
    assert (view.status, view.imported_by) == ("RECONCILED", "service:reconciliation")


# Several replicas on one inbox, driven step by step: each worker is a StatementInbox on the
# same directory, its importer records what it was given.


def _statement_file(statement_id: str, amount: str = "1.00") -> bytes:
    spec = StatementSpec(
        account=iban("DE"),
        currency="EUR",
        from_date=DAY,
        to_date=DAY,
        closing=Decimal(amount),
        entries=[Entry(Decimal(amount), DAY, f"E2E-{statement_id}")],
        statement_id=statement_id,
    )
    return build_camt053(spec)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_replica_moves_only_the_file_it_claimed(tmp_path: Path) -> None:
    """A reads x.xml (v1); meanwhile B looks, and the producer drops the next x.xml (v2). A
    moves the file it claimed, not whatever is called x.xml now: v2 waits in the inbox."""
    imported: list[bytes] = []
    v1, v2 = _statement_file("S-1"), _statement_file("S-2", "2.00")
    replica_b = StatementInbox(tmp_path, lambda data: imported.append(data))

    def replica_a_importer(data: bytes) -> None:
        imported.append(data)
        if len(imported) == 1:  # while A is importing v1 ...
            assert replica_b.step() == 0  # ... B finds nothing to take (A claimed v1)
            part = tmp_path / "x.xml.part"
            part.write_bytes(v2)
            part.rename(tmp_path / "x.xml")  # the producer's next file, same name

    replica_a = StatementInbox(tmp_path, replica_a_importer)
    (tmp_path / "x.xml").write_bytes(v1)
    assert replica_a.step() == 1
    assert imported == [v1]
    assert (tmp_path / "x.xml").read_bytes() == v2
    assert (tmp_path / "processed" / "x.xml").read_bytes() == v1
    assert replica_b.step() == 1
    assert imported == [v1, v2]
    assert (tmp_path / "processed" / "x.xml.1").read_bytes() == v2  # never overwritten
    assert _names(tmp_path / ".claimed") == []


def test_two_replicas_listing_one_file_import_it_once(tmp_path: Path) -> None:
    imported: list[tuple[str, bytes]] = []
    a = StatementInbox(tmp_path, lambda data: imported.append(("a", data)))
    b = StatementInbox(tmp_path, lambda data: imported.append(("b", data)))
    a.step()  # creates the folders
    (tmp_path / "x.xml").write_bytes(good := _statement_file("S-1"))
    [seen_by_a] = a.pending()
    [seen_by_b] = b.pending()
    claimed = b.claim(seen_by_b)
    assert claimed is not None and claimed.parent == tmp_path / ".claimed"
    assert a.claim(seen_by_a) is None  # B has it
    b.process(claimed)
    assert a.step() == 0
    assert imported == [("b", good)]
    assert _names(tmp_path / "processed") == ["x.xml"]


def test_a_crashed_replicas_claims_return_to_the_inbox(tmp_path: Path) -> None:
    clock = Clock()
    imported: list[bytes] = []
    crashed = StatementInbox(tmp_path, lambda data: imported.append(data), clock=clock)
    alive = StatementInbox(tmp_path, lambda data: imported.append(data), clock=clock)
    crashed.step()
    first, newer = _statement_file("S-1"), _statement_file("S-2", "2.00")
    (tmp_path / "x.xml").write_bytes(first)
    [path] = crashed.pending()
    assert crashed.claim(path) is not None  # ... and the replica dies before processing it
    (tmp_path / "x.xml").write_bytes(newer)  # the producer's next file of that name
    os.utime(tmp_path / "x.xml", (clock.now + 60, clock.now + 60))

    clock.now += 599  # a claim younger than 10 minutes is left alone
    assert alive.release_stale_claims() == 0
    assert alive.step() == 1
    assert imported == [newer]
    clock.now += 2
    assert alive.step() == 1  # returned (under another name: x.xml was taken) and imported
    assert imported == [newer, first]
    assert [(tmp_path / "processed" / n).read_bytes() for n in ("x.xml", "x.xml.1")] == [
        newer,
        first,
    ]
    assert _names(tmp_path / ".claimed") == []
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []


def test_a_failed_import_returns_the_file_to_the_inbox(tmp_path: Path) -> None:
    def down(_data: bytes) -> None:
        raise ConnectionError("database down")

    (tmp_path / "x.xml").write_bytes(good := _statement_file("S-1"))
    with pytest.raises(ConnectionError):
        StatementInbox(tmp_path, down).step()
    assert (tmp_path / "x.xml").read_bytes() == good
    assert _names(tmp_path / ".claimed") == []
    assert _names(tmp_path / "processed") == []


def test_an_oversized_inbox_file_is_rejected_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(camt053, "MAX_BYTES", 1000)
    reads: list[Path] = []
    real_read = inbox_module.read_regular_file

    def spy(path: Path, limit: int) -> bytes:
        reads.append(path)
        return real_read(path, limit)

    monkeypatch.setattr(inbox_module, "read_regular_file", spy)
    with (tmp_path / "big.xml").open("wb") as f:  # sparse: think 20 GB
        f.truncate(10_000_000)
    (tmp_path / "small.xml").write_bytes(b"<x/>")
    imported: list[bytes] = []
    assert StatementInbox(tmp_path, lambda data: imported.append(data)).step() == 2
    assert [p.name for p in reads] == [p.name for p in reads if p.name.startswith("small")]
    assert len(reads) == 1 and imported == [b"<x/>"]
    assert (tmp_path / "rejected" / "big.xml").stat().st_size == 10_000_000
    reason = (tmp_path / "rejected" / "big.xml.reason").read_text()
    assert "10000000 bytes, the limit is 1000" in reason


def test_symlinks_and_directories_in_the_inbox_are_rejected_never_followed(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "outside" / "secret.xml"
    secret.parent.mkdir()
    secret.write_bytes(content := _statement_file("S-9"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    os.symlink(secret, inbox / "link.xml")
    (inbox / "folder.xml").mkdir()
    seen: list[bytes] = []
    assert StatementInbox(inbox, lambda data: seen.append(data)).step() == 2
    assert seen == []
    link = inbox / "rejected" / "link.xml"
    assert link.is_symlink() and os.readlink(link) == str(secret)
    assert "link.xml is a symlink: not read" in (inbox / "rejected/link.xml.reason").read_text()
    [folder] = [p for p in (inbox / "rejected").iterdir() if p.is_dir()]
    assert folder.name.startswith("folder.xml")
    reason = (inbox / "rejected" / f"{folder.name}.reason").read_text()
    assert "folder.xml is not a regular file: not read" in reason
    assert secret.read_bytes() == content  # untouched, where it was
    assert [p.name for p in inbox.iterdir() if not p.is_dir()] == []


def test_the_inbox_setting(tmp_path: Path) -> None:
    settings = Settings.from_env({"LEDGER_RECONCILIATION_INBOX": str(tmp_path / "in")})
    assert settings.reconciliation_inbox_dir == tmp_path / "in"
    assert settings.describe()["reconciliation_inbox"] == str(tmp_path / "in")
    default = Settings.from_env({"LEDGER_DATA_DIR": str(tmp_path)})
    assert default.reconciliation_inbox_dir == tmp_path / "reconciliation" / "inbox"


# --------------------------------------------------------------------------- CLI


@pytest.mark.usefixtures("restore_logging")
def test_the_cli_imports_and_lists_breaks(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    container = bootstrap(Settings.from_env(env), clock=FakeClock())  # books on DAY
    try:
        with client_as(container, SUPERUSER) as client:
            good = booked_statement(client, "S-CLI-1")
            bad_balance = booked_statement(client, "S-CLI-2", closing=Decimal("1.00"))
    finally:
        container.close()
    (tmp_path / "good.xml").write_bytes(good)
    (tmp_path / "bad.xml").write_bytes(bad_balance)
    (tmp_path / "junk.xml").write_text("junk")

    assert main(["reconcile", "import", str(tmp_path / "good.xml")], env) == 0
    assert "3 matched, 0 break(s)" in capsys.readouterr().out
    assert main(["reconcile", "import", str(tmp_path / "bad.xml")], env) == 1
    out = capsys.readouterr().out
    assert "CLOSING_BALANCE_MISMATCH OPEN" in out
    assert main(["reconcile", "import", str(tmp_path / "junk.xml")], env) == 1
    assert "refused: not well-formed XML" in capsys.readouterr().err
    assert main(["reconcile", "breaks", "--open"], env) == 0
    listed = capsys.readouterr().out
    assert "CLOSING_BALANCE_MISMATCH OPEN" in listed
    assert listed.strip().endswith("1 break(s) open")
    assert main(["audit", "verify"], env) == 0
