"""The ``ledger`` argument parser and the pure helpers of the CLI (no database)."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from api.cli.csv_import import BadCsvFile, import_accounts
from api.cli.main import build_parser, main
from api.cli.replay import parse_instant
from application.errors import AlreadyExists
from application.ledger.commands import OpenAccount
from domain.causation import Causation, current_causation
from domain.ledger.accounts import Account


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_serve_defaults_to_role_all() -> None:
    args = parse("serve")
    assert (args.command, args.role, args.host, args.port) == ("serve", "all", None, None)
    args = parse("serve", "--role", "projector", "--host", "0.0.0.0", "--port", "9001")
    assert (args.role, args.host, args.port) == ("projector", "0.0.0.0", 9001)


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--role", "worker"],
        ["serve", "--port", "0"],
        ["demo", "--accounts", "0"],
        ["demo", "--transactions", "-1"],
        ["replay", "--out", "x.sqlite"],
        ["replay", "--as-of", "2026-11-23T10:00:00", "--out", "x.sqlite"],
        ["replay", "--as-of", "yesterday", "--out", "x.sqlite"],
        ["projections"],
        ["accounts"],
        [],
    ],
)
def test_bad_arguments_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(argv)
    assert raised.value.code == 2
    assert "usage: ledger" in capsys.readouterr().err


def test_demo_options() -> None:
    args = parse("demo", "--if-empty", "--accounts", "12", "--transactions", "0", "--seed", "9")
    assert (args.if_empty, args.accounts, args.transactions, args.seed) == (True, 12, 0, 9)
    defaults = parse("demo")
    assert (defaults.if_empty, defaults.accounts, defaults.transactions, defaults.seed) == (
        False,
        60,
        3000,
        42,
    )


def test_projection_and_replay_commands() -> None:
    assert parse("projections", "status").projections_command == "status"
    rebuild = parse("projections", "rebuild", "audit")
    assert (rebuild.projections_command, rebuild.name) == ("rebuild", "audit")
    assert parse("projections", "rebuild").name is None
    replay = parse("replay", "--as-of", "2026-11-23T10:15:00+01:00", "--out", "out.sqlite")
    assert replay.as_of == datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    assert replay.out == Path("out.sqlite")
    assert replay.force is False
    assert parse("accounts", "import", "a.csv").file == Path("a.csv")


def test_parse_instant() -> None:
    assert parse_instant("2026-11-23T10:15:00Z") == datetime(2026, 11, 23, 10, 15, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError, match="no time zone"):
        parse_instant("2026-11-23T10:15:00")


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"], {})
    out = capsys.readouterr().out
    for command in ("serve", "demo", "accounts", "projections", "replay"):
        assert command in out


def test_invalid_settings_exit_2_before_opening_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "var"
    env = {"LEDGER_DATA_DIR": str(data_dir), "LEDGER_ENV": "staging"}
    assert main(["projections", "status"], env) == 2
    assert "LEDGER_ENV: must be development or production" in capsys.readouterr().err
    assert not data_dir.exists()


class FakeLedger:
    """Records open_account calls; refuses a second account per IBAN."""

    def __init__(self) -> None:
        self.opened: dict[str, OpenAccount] = {}
        self.causations: list[Causation] = []

    def open_account(self, command: OpenAccount) -> Any:
        self.causations.append(current_causation())
        if command.iban.value in self.opened:
            raise AlreadyExists(f"an account with IBAN {command.iban} is already open")
        self.opened[command.iban.value] = command
        return Account.open_customer(
            command.iban, command.holder_name, command.currency, command.overdraft_limit
        )


def test_csv_import_line_numbers_and_validation() -> None:
    ledger = FakeLedger()
    text = (
        "IBAN, Holder_Name ,currency,overdraft_limit,notes\n"
        "DE89370400440532013000,Max Mustermann,EUR,100,vip\n"
        '"FR1420041010050500013M02606","Dupont, Marie",EUR,\n'
        '"NL91ABNA0417164300","Two\nLines",EUR,\n'
        "NL00ABNA0000000000,Broken,EUR,\n"
        "\n"
        "AT611904300234573201,,EUR,\n"
        "BE68539007547034,Too,Many,Fields,Here,Now\n"
        "DE89370400440532013000,Again,EUR,\n"
        "GB82WEST12345698765432,Pound,GBP,-1\n"
    )
    causation = Causation(actor="user:ops", correlation_id="c-1", channel="CLI")
    report = import_accounts(ledger, io.StringIO(text), causation)  # type: ignore[arg-type]
    assert report.opened == ["DE89370400440532013000", "FR1420041010050500013M02606"]
    assert ledger.opened["DE89370400440532013000"].overdraft_limit == Decimal("100.00")
    assert ledger.opened["FR1420041010050500013M02606"].holder_name == "Dupont, Marie"
    errors = {error.line: error.message for error in report.errors}
    assert sorted(errors) == [4, 6, 8, 9, 10, 11]
    assert errors[4] == "holderName: control characters are not allowed"  # starts on line 4
    assert errors[6].startswith("iban: invalid IBAN")
    assert errors[8] == "holderName: must not be blank"
    assert errors[9] == "6 fields, but the header has 5"
    assert "already open" in errors[10]
    assert errors[11] == "overdraftLimit: must not be negative"
    assert not report.ok
    assert {c.actor for c in ledger.causations} == {"user:ops"}


def test_csv_import_needs_the_columns() -> None:
    with pytest.raises(BadCsvFile, match="missing column"):
        import_accounts(FakeLedger(), io.StringIO("iban,name\n"), Causation())  # type: ignore[arg-type]
    with pytest.raises(BadCsvFile, match="empty"):
        import_accounts(FakeLedger(), io.StringIO(""), Causation())  # type: ignore[arg-type]
