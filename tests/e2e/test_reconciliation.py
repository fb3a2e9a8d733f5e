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

from api.bootstrap import Container, bootstrap
from api.cli import main
from api.reconciliation_role import reconciliation_workers
from api.security import Principal
from api.settings import Settings
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
