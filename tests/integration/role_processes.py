"""Real ``ledger`` processes released at the same instant, and a record of the DDL they run.

:func:`start_together` spawns every process first; each imports everything ``ledger serve``
loads (the CLI, the HTTP stack), says so by touching a file, then blocks on its stdin. When
all of them are there the test writes one byte to each: they run ``ledger``'s own ``main``
from the same instant, so their starts (bootstrap, schema checks, workers) overlap as they
do when a Deployment's replicas or several roles come up together, not seconds apart as
interpreter start-up would spread them.

:class:`DdlAudit` is a PostgreSQL event trigger (``ddl_command_start``: it fires before any
DDL statement, even a ``CREATE TABLE IF NOT EXISTS`` that finds the table) recording every
DDL statement that names, or runs with its ``search_path`` on, the schema under test. It
lives in a schema of its own, dropped with it, and ignores every other schema of the
database (other tests' DDL is not recorded, and never fails because of it).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from tests.broker.support import ROOT, wait_until
from tests.conftest import TEST_DATABASE_URL

START_TIMEOUT = 120.0
"""Seconds a process may take to become ready or exit (several start at once on a loaded
machine; typically 5 to 15)."""

FORBIDDEN = (
    "Traceback",
    "IntegrityError",
    "duplicate",
    "pg_type_typname_nsp_index",
    "tuple concurrently updated",
    "already exists",
)
"""What a DDL race (or any crash) leaves in a process's output."""

_ARMED = """\
import sys
from pathlib import Path

import api.cli.main as cli
import api.http.app  # noqa: F401  (what `serve` imports, loaded before the barrier)
import uvicorn  # noqa: F401

Path(sys.argv[1]).touch()
sys.stdin.buffer.read(1)
sys.exit(cli.main(sys.argv[2:]))
"""


@dataclass
class LedgerProcess:
    """One ``ledger`` process: its command line, port (``serve``), and output files."""

    args: tuple[str, ...]
    process: subprocess.Popen[bytes]
    port: int | None
    out: Path
    err: Path

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def ready(self) -> bool:
        """``/readyz`` answers 200."""
        try:
            response = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def label(self) -> str:
        return f"ledger {' '.join(self.args)} (port {self.port}, pid {self.process.pid})"


@contextmanager
def start_together(
    commands: list[tuple[tuple[str, ...], dict[str, str], int | None]], workdir: Path
) -> Iterator[list[LedgerProcess]]:
    """Start ``ledger ARGS`` for every ``(args, env, port)`` at the same instant (module doc);
    yields them running. On the way out every process still running is killed."""
    started: list[LedgerProcess] = []
    handles = []
    try:
        for index, (args, env, port) in enumerate(commands):
            armed = workdir / f"armed-{index}"
            out = (workdir / f"process-{index}.out").open("wb")
            err = (workdir / f"process-{index}.err").open("wb")
            handles += [out, err]
            process = subprocess.Popen(
                [sys.executable, "-c", _ARMED, str(armed), *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
            )
            started.append(LedgerProcess(args, process, port, Path(out.name), Path(err.name)))
        wait_until(
            lambda: all(
                (workdir / f"armed-{i}").exists() or p.process.poll() is not None
                for i, p in enumerate(started)
            ),
            START_TIMEOUT,
            "every process to be loaded and waiting at the barrier",
        )
        for running in started:  # the barrier: let them all go
            assert running.process.stdin is not None
            running.process.stdin.write(b"g")
            running.process.stdin.close()
        yield started
    finally:
        for running in started:
            if running.process.poll() is None:
                running.process.kill()
                running.process.wait()
        for handle in handles:
            handle.close()


def outputs(processes: list[LedgerProcess]) -> str:
    return "\n".join(f"--- {p.label()}\n{p.output()}" for p in processes)


def wait_all_ready(processes: list[LedgerProcess]) -> None:
    """Wait until every process answers ``/readyz`` 200; fail (with every output) as soon as
    one exits instead."""
    for running in processes:
        wait_until(
            lambda r=running: r.process.poll() is not None or r.ready(),  # type: ignore[misc]
            START_TIMEOUT,
            f"{running.label()} to be ready",
        )
        assert running.process.poll() is None, f"{running.label()} exited\n{outputs(processes)}"


def stop_all(processes: list[LedgerProcess]) -> list[int | None]:
    """SIGTERM to every process at once; their exit codes."""
    for running in processes:
        running.process.send_signal(signal.SIGTERM)
    return [running.process.wait(timeout=60) for running in processes]


def wait_all_exited(processes: list[LedgerProcess]) -> list[int | None]:
    wait_until(
        lambda: all(p.process.poll() is not None for p in processes),
        START_TIMEOUT,
        "every process to exit",
    )
    return [p.process.returncode for p in processes]


def assert_no_crash_output(processes: list[LedgerProcess]) -> None:
    text = outputs(processes)
    found = [word for word in FORBIDDEN if word in text]
    assert not found, f"{found} in the processes' output:\n{text}"


class DdlAudit:
    """Every DDL statement run in ``target`` (a schema) while installed (module doc)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.home = f"ddl_audit_{uuid.uuid4().hex[:10]}"
        self.trigger = f"{self.home}_trigger"

    def install(self) -> None:
        home, target = self.home, self.target
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{home}"')
            conn.execute(
                f'CREATE TABLE "{home}".statements (at timestamptz NOT NULL DEFAULT '
                "clock_timestamp(), tag text, current text, query text, pid int)"
            )
            conn.execute(
                f'CREATE FUNCTION "{home}".record() RETURNS event_trigger LANGUAGE plpgsql '
                "AS $fn$ BEGIN "
                f"IF current_schema() = '{target}' OR position('{target}' in current_query()) > 0 "
                f'THEN INSERT INTO "{home}".statements (tag, current, query, pid) '
                "VALUES (tg_tag, current_schema(), current_query(), pg_backend_pid()); "
                "END IF; "
                "EXCEPTION WHEN others THEN NULL; "  # never the cause of another's failure
                "END $fn$"
            )
            conn.execute(
                f'CREATE EVENT TRIGGER "{self.trigger}" ON ddl_command_start '
                f'EXECUTE FUNCTION "{home}".record()'
            )

    def statements(self) -> list[tuple[str, str]]:
        """``(command tag, statement)`` of every DDL statement recorded so far."""
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
            rows = conn.execute(
                f'SELECT tag, query FROM "{self.home}".statements ORDER BY at'
            ).fetchall()
        return [(str(tag), str(query)) for tag, query in rows]

    def remove(self) -> None:
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP EVENT TRIGGER IF EXISTS "{self.trigger}"')
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.home}" CASCADE')


@contextmanager
def ddl_audit(target: str) -> Iterator[DdlAudit]:
    audit = DdlAudit(target)
    audit.install()
    try:
        yield audit
    finally:
        audit.remove()


def tables_in(schema: str) -> list[str]:
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "ORDER BY table_name",
            (schema,),
        ).fetchall()
    return [str(name) for (name,) in rows]


def schema_exists(schema: str) -> bool:
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
            is not None
        )
