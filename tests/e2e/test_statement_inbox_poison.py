"""No single statement file can stop the inbox (issue 12, item 4).

A camt.053 whose ``CreDtTm`` is ``0001-01-01T00:00:00+01:00`` once raised ``OverflowError``:
the file went back to the inbox, was retried forever, and every later file waited behind it.
Now any failure of one file that is not a transient database error sends it to ``rejected/``
with a ``.reason`` and the next file goes on; a transient one still returns it to the inbox.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi.testclient import TestClient
from sqlalchemy import exc

from adapters.statements.inbox import StatementInbox
from api.runtime.bootstrap import Container
from api.runtime.reconciliation_role import reconciliation_workers
from application.errors import ConcurrencyExhausted
from projections.base import ProjectionError
from tests.e2e.conftest import client_as, gql_errors
from tests.e2e.test_reconciliation import IMPORT, RITA, _statement_file, booked_statement, events_of

POISON_DATE = "0001-01-01T00:00:00+01:00"


def _poisoned(document: bytes) -> bytes:
    """``document`` with the statement's creation time (not the group header's) out of range."""
    head, _sep, stmt = document.partition(b"<Stmt>")
    created = stmt.index(b"<CreDtTm>") + len(b"<CreDtTm>")
    end = stmt.index(b"</CreDtTm>")
    return head + b"<Stmt>" + stmt[:created] + POISON_DATE.encode() + stmt[end:]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


class Importer:
    """Records what it imports; raises ``error`` for the document ``poison``."""

    def __init__(self, poison: bytes, error: BaseException) -> None:
        self.poison, self.error, self.imported = poison, error, list[bytes]()

    def __call__(self, data: bytes) -> None:
        if data == self.poison:
            raise self.error
        self.imported.append(data)


@pytest.mark.parametrize(
    "error",
    [
        OverflowError("date value out of range"),
        RecursionError("maximum recursion depth exceeded"),
        KeyError("Ccy"),
        TypeError("unsupported operand"),
        RuntimeError("anything else"),
        exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_file_that_fails_for_any_other_reason_is_rejected_and_the_next_goes_on(
    tmp_path: Path, error: Exception
) -> None:
    bad, good = _statement_file("S-BAD"), _statement_file("S-GOOD")
    (tmp_path / "a-bad.xml").write_bytes(bad)
    (tmp_path / "b-good.xml").write_bytes(good)
    os.utime(tmp_path / "a-bad.xml", (1, 1))  # oldest first: handled before the good one
    importer = Importer(bad, error)
    inbox = StatementInbox(tmp_path, importer)

    assert inbox.step() == 2
    assert importer.imported == [good]
    assert _names(tmp_path / "processed") == ["b-good.xml"]
    assert _names(tmp_path / "rejected") == ["a-bad.xml", "a-bad.xml.reason"]
    assert (tmp_path / "rejected" / "a-bad.xml").read_bytes() == bad
    reason = (tmp_path / "rejected" / "a-bad.xml.reason").read_text()
    assert type(error).__name__ in reason
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == []
    assert _names(tmp_path / ".claimed") == []


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("server closed the connection unexpectedly"),
        InterfaceError("connection already closed"),
        exc.OperationalError("SELECT", {}, Exception("could not connect")),
        exc.InterfaceError("SELECT", {}, Exception("connection closed")),
        ConnectionRefusedError("database down"),
        TimeoutError("pool timeout"),
        ConcurrencyExhausted("conflicts exhausted"),
        ProjectionError("ledger", None, RuntimeError("an event the read models cannot apply")),
    ],
    ids=lambda error: type(error).__name__,
)
def test_a_transient_database_error_returns_the_file_to_the_inbox(
    tmp_path: Path, error: Exception
) -> None:
    good = _statement_file("S-1")
    (tmp_path / "x.xml").write_bytes(good)
    inbox = StatementInbox(tmp_path, Importer(good, error))
    with pytest.raises(type(error)):
        inbox.step()
    assert (tmp_path / "x.xml").read_bytes() == good  # tried again later
    assert _names(tmp_path / "rejected") == []
    assert _names(tmp_path / ".claimed") == []


def test_the_real_worker_rejects_an_out_of_range_date_and_imports_the_next_file(
    container: Container, client: TestClient
) -> None:
    inbox = container.settings.reconciliation_inbox_dir
    inbox.mkdir(parents=True)
    good = booked_statement(client, "S-GOOD")
    poison = _poisoned(booked_statement(client, "S-BAD"))
    (inbox / "a-poison.xml").write_bytes(poison)
    (inbox / "b-good.xml").write_bytes(good)
    os.utime(inbox / "a-poison.xml", (1, 1))
    [worker] = reconciliation_workers(container)

    assert worker.run_once() == 2
    assert _names(inbox / "processed") == ["b-good.xml"]
    assert _names(inbox / "rejected") == ["a-poison.xml", "a-poison.xml.reason"]
    reason = (inbox / "rejected" / "a-poison.xml.reason").read_text()
    assert "Stmt[1]/CreDtTm" in reason and POISON_DATE in reason
    assert events_of(container) == 2  # the good statement only: Imported + Reconciled
    assert worker.run_once() == 0


def test_an_out_of_range_date_over_graphql_is_bad_user_input_naming_the_element(
    container: Container, client: TestClient
) -> None:
    poison = _poisoned(booked_statement(client, "S-BAD")).decode()
    with client_as(container, RITA) as rita:
        [error] = gql_errors(rita, IMPORT, {"xml": poison})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Stmt[1]/CreDtTm" in error["message"] and POISON_DATE in error["message"]
    assert events_of(container) == 0
