"""The ``ledger`` command end to end, on both backends (and ``serve`` as a real process)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.cli.main import main
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.roles import ROLE_NAMES
from api.runtime.roles import role as role_table
from api.runtime.settings import Settings
from tests.builders import iban

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("restore_logging")


def open_container(env: dict[str, str]) -> Container:
    return bootstrap(Settings.from_env(env))


def customer_keys(env: dict[str, str]) -> list[str]:
    container = open_container(env)
    try:
        container.projector.catch_up()
        page = container.queries.accounts(first=500)
        return [view.key for _, view in page.edges if view.type == "CUSTOMER"]
    finally:
        container.close()


def test_demo_if_empty_is_idempotent(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["demo", "--if-empty", "--accounts", "8", "--transactions", "120", "--seed", "7"]
    assert main(argv, env) == 0
    out = capsys.readouterr().out
    assert "8 accounts opened" in out
    assert "120 payments submitted" in out
    assert "REJECTED" in out
    accounts = customer_keys(env)
    assert len(accounts) == 8

    assert main(argv, env) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert customer_keys(env) == accounts

    container = open_container(env)
    try:
        assert {s.lag for s in container.projector.status()} == {0}
        report = container.queries.trial_balance()
        assert {t.balance_sum for t in report.totals} == {0}
        statuses = {view.status for _, view in container.queries.transactions(first=500).edges}
        assert {"POSTED", "REJECTED", "HELD"} <= statuses
    finally:
        container.close()


def test_demo_same_seed_twice_books_nothing_twice(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["demo", "--accounts", "6", "--transactions", "60", "--seed", "3"]
    assert main(argv, env) == 0
    assert main(argv, env) == 0
    out = capsys.readouterr().out
    assert "(6 existed)" in out
    assert "(60 repeats)" in out
    assert "0 released and 0 rejected after review, 0 reversed, 0 settled" in out
    assert out.count("1 released and 1 rejected after review") == 1


def test_accounts_import_reports_bad_rows_and_goes_on(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good_1, good_2 = iban("DE"), iban("FR")
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text(
        "iban,holder_name,currency,overdraft_limit\n"
        f"{good_1},Max Mustermann,EUR,500.00\n"
        "DE00000000000000000000,Broken Iban,EUR,\n"
        "\n"
        f'{good_2},"Dupont, Marie",eur,\n'
        f"{iban('NL')},Too Precise,EUR,1.005\n"
        f"{good_1},Max Again,EUR,0\n",
        encoding="utf-8",
    )
    assert main(["accounts", "import", str(csv_file)], env) == 1
    captured = capsys.readouterr()
    assert "imported 2 accounts, 3 rows failed" in captured.out
    assert f"{csv_file}:3: iban: invalid IBAN" in captured.err
    assert f"{csv_file}:6: overdraftLimit: EUR allows 2 decimal places" in captured.err
    assert f"{csv_file}:7: an account with IBAN {good_1} is already open" in captured.err
    assert sorted(customer_keys(env)) == sorted([good_1, good_2])


def test_accounts_import_reports_hostile_rows_by_line_and_never_crashes(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue #12 item 1(a) for the CSV import: a field above the CSV reader's limit, 10,000
    digits, NaN and bytes that are not UTF-8 are reported by line; the rows before are kept."""
    good_1, good_2 = iban("DE"), iban("FR")
    rows = (
        "iban,holder_name,currency,overdraft_limit\n"
        f"{good_1},Max Mustermann,EUR,\n"
        f'{iban("NL")},"{"x" * 200_000}",EUR,\n'
        f"{iban('NL')},Digits,EUR,{'9' * 10_000}\n"
        f"{iban('NL')},Not A Number,EUR,NaN\n"
        f"{good_2},Marie Dupont,EUR,\n"
    ).encode()
    csv_file = tmp_path / "hostile.csv"
    # blank lines (skipped) keep the bad bytes beyond the decoder's read-ahead of the rows
    csv_file.write_bytes(rows + b"\n" * 20_000 + b"\xff\xfe,broken,EUR,\n")
    assert main(["accounts", "import", str(csv_file)], env) == 1
    captured = capsys.readouterr()
    assert f"{csv_file}:3: unreadable row: field larger than field limit" in captured.err
    assert f"{csv_file}:4: overdraftLimit: amount '99999" in captured.err
    assert len(captured.err.splitlines()[1]) < 200  # 10,000 digits are not echoed
    assert f"{csv_file}:5: overdraftLimit: not a finite amount: 'NaN'" in captured.err
    assert "the file is not UTF-8 (invalid start byte)" in captured.err
    assert sorted(customer_keys(env)) == sorted([good_1, good_2])


def test_accounts_import_all_good_exits_zero(env: dict[str, str], tmp_path: Path) -> None:
    csv_file = tmp_path / "ok.csv"
    csv_file.write_text(f"holder_name,iban,currency\nAnna,{iban('AT')},EUR\n", encoding="utf-8")
    assert main(["accounts", "import", str(csv_file)], env) == 0


def test_accounts_import_refuses_a_file_without_the_columns(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "wrong.csv"
    csv_file.write_text("name,account\nX,Y\n", encoding="utf-8")
    assert main(["accounts", "import", str(csv_file)], env) == 2
    assert "missing column(s) iban, holder_name, currency" in capsys.readouterr().err
    assert main(["accounts", "import", str(tmp_path / "missing.csv")], env) == 2


def test_projections_status_and_rebuild(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--accounts", "5", "--transactions", "80"], env) == 0
    capsys.readouterr()
    container = open_container(env)
    try:
        before = (
            container.queries.trial_balance(),
            container.queries.transactions(first=500),
            container.queries.audit_trail(first=500),
        )
    finally:
        container.close()

    assert main(["projections", "status"], env) == 0
    out = capsys.readouterr().out
    for name in ("accounts", "transactions", "audit"):
        assert name in out
    assert "lag" in out

    assert main(["projections", "rebuild", "transactions"], env) == 0
    assert "rebuilt transactions" in capsys.readouterr().out
    assert main(["projections", "rebuild"], env) == 0
    assert "rebuilt accounts, transactions, audit, fraud" in capsys.readouterr().out
    assert main(["projections", "rebuild", "nope"], env) == 2

    container = open_container(env)
    try:
        after = (
            container.queries.trial_balance(),
            container.queries.transactions(first=500),
            container.queries.audit_trail(first=500),
        )
        assert after == before
        assert {s.lag for s in container.projector.status()} == {0}
    finally:
        container.close()


def _query(path: Path, sql: str) -> str:
    """Query with the sqlite3 command-line client when installed, else the stdlib module."""
    binary = shutil.which("sqlite3")
    if binary:
        done = subprocess.run(
            [binary, str(path), sql], check=True, capture_output=True, text=True, timeout=30
        )
        return done.stdout.strip()
    with sqlite3.connect(path) as connection:
        return "\n".join("|".join(str(v) for v in row) for row in connection.execute(sql))


def test_replay_writes_a_sqlite_file_as_of_t(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--accounts", "4", "--transactions", "40"], env) == 0
    time.sleep(0.01)
    noted = datetime.now(UTC)
    time.sleep(0.01)
    late = iban("BE")
    csv_file = tmp_path / "late.csv"
    csv_file.write_text(f"iban,holder_name,currency\n{late},Late Comer,EUR\n", encoding="utf-8")
    assert main(["accounts", "import", str(csv_file)], env) == 0

    out = tmp_path / "compliance" / "as-of.sqlite"
    assert main(["replay", "--as-of", noted.isoformat(), "--out", str(out)], env) == 0
    assert "events recorded at or before" in capsys.readouterr().out
    assert _query(out, "select count(*) from rm_accounts where type = 'CUSTOMER'") == "4"
    assert _query(out, f"select count(*) from rm_accounts where key = '{late}'") == "0"
    assert int(_query(out, "select count(*) from rm_transactions")) >= 40
    assert int(_query(out, "select count(*) from rm_audit_events")) > 0

    assert main(["replay", "--as-of", noted.isoformat(), "--out", str(out)], env) == 2
    assert "exists" in capsys.readouterr().err
    now = datetime.now(UTC).isoformat()
    assert main(["replay", "--as-of", now, "--out", str(out), "--force"], env) == 0
    assert _query(out, f"select count(*) from rm_accounts where key = '{late}'") == "1"


def test_invalid_settings_stop_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"LEDGER_DATA_DIR": str(tmp_path), "LEDGER_PORT": "eighty"}
    assert main(["projections", "status"], env) == 2
    assert "LEDGER_PORT: must be an integer" in capsys.readouterr().err


# --------------------------------------------------------------------------- serve


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(role: str, tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    """``ledger migrate`` (``ledger serve`` runs no DDL), then ``ledger serve --role ROLE``."""
    assert main(["migrate"], {"LEDGER_DATA_DIR": str(tmp_path / "var")}) == 0
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEDGER_")}
    env.update(
        LEDGER_DATA_DIR=str(tmp_path / "var"),
        LEDGER_PORT=str(port),
        PYTHONPATH=str(ROOT),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "serve", "--role", role],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_healthy(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy")


def _cleanup(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def test_serve_answers_and_stops_gracefully_on_sigterm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env = {"LEDGER_DATA_DIR": str(tmp_path / "var")}
    assert main(["users", "bootstrap", "--user", "ops", "--roles", "admin"], cli_env) == 0
    capsys.readouterr()
    assert main(["token", "--user", "ops", "--roles", "admin"], cli_env) == 0
    token = capsys.readouterr().out.strip()
    port = _free_port()
    process = _start("all", tmp_path, port)
    try:
        _wait_healthy(process, port)
        base = f"http://127.0.0.1:{port}"
        body = {"iban": "DE89370400440532013000", "holderName": "Max", "currency": "EUR"}
        assert httpx.post(f"{base}/v1/accounts", json=body).status_code == 401
        auth = {"authorization": f"Bearer {token}"}
        opened = httpx.post(f"{base}/v1/accounts", json=body, headers=auth)
        assert opened.status_code == 201
        deadline = time.monotonic() + 10
        account = f"{base}/v1/accounts/DE89370400440532013000"
        while httpx.get(account, headers=auth).status_code != 200:
            assert time.monotonic() < deadline, "the projector thread did not project"
            time.sleep(0.1)
        assert httpx.get(f"{base}/readyz").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        output = process.stdout.read().decode() if process.stdout else ""
        assert '"projector stopped"' in output
        assert "DE89370400440532013000" not in output  # masked in the logs
    finally:
        _cleanup(process)


def test_serve_role_projector_answers_probes_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    process = _start("projector", tmp_path, port)
    try:
        _wait_healthy(process, port)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/readyz").json()["checks"]["projections"]
        assert "ledger_projection_lag" in httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/v1/accounts/DE89370400440532013000").status_code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        _cleanup(process)


def test_migrate_creates_the_tables_and_can_run_again(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import inspect

    from adapters.persistence import read_model_engine

    settings = Settings.from_env(env)
    assert main(["migrate"], env) == 0
    assert "store ready" in capsys.readouterr().out
    engine = read_model_engine(settings.database_config())
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"rm_accounts", "rm_postings", "rm_transactions", "rm_audit_events"} <= tables
    assert "outbox_tracking" in tables
    assert main(["migrate"], env) == 0


@pytest.mark.parametrize("role", [name for name in ROLE_NAMES if name != "ingestion"])
def test_every_role_starts_becomes_ready_and_stops_on_sigterm(role: str, tmp_path: Path) -> None:
    """What the image's ENTRYPOINT runs (``ledger serve --role ROLE``), for every role but
    ingestion (it needs a broker: tests/broker/test_ingestion_role.py)."""
    port = _free_port()
    process = _start(role, tmp_path, port)
    try:
        _wait_healthy(process, port)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while (ready := httpx.get(f"{base}/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.1)
        checks = ready.json()["checks"]
        # A role with background workers reports each of them (and is ready only with them).
        assert bool(checks.get("workers")) == bool(role_table(role).workers), checks
        graphql = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"})
        assert (graphql.status_code != 404) == role_table(role).serves_api
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        _cleanup(process)
