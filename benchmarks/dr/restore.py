"""``python -m benchmarks.dr.restore [--dir DIR] [--port P] [--payments N] [--keep]``
(run by ``scripts/restore-drill.sh``): the backup and point-in-time restore drill of #19.

1. A PostgreSQL instance of its own (``--port``) archives every WAL segment to
   ``DIR/archive`` (a local directory standing in for the S3 bucket: ``archive_command``
   copies, ``restore_command`` copies back). The ledger is migrated and funded, then a base
   backup is taken (``pg_basebackup``), the nightly backup.
2. More payments are booked; ``ledger audit head`` exports the chain heads (the anchor an
   operator keeps in write-once storage); the instant after that is the restore target.
3. The incident: an attacker with the database's superuser rewrites an anchored event and
   recomputes the whole stored chain over it (``ledger audit verify`` alone is then
   content), and more payments follow.
4. The base backup is restored twice, each replaying the archive up to a chosen instant
   (``recovery_target_time``): before the incident, ``ledger audit verify --anchor`` must
   pass; after it, it must fail naming the anchored link.

Prints the sizes, the recovery times and both verdicts; exit code 1 unless the restore to
the good instant verifies and the restore past the tampering is caught.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from benchmarks.scale_out.processes import LEDGER, ROOT, migrate
from benchmarks.workload import customer_ibans, open_and_fund, transfers

SCHEMA = "ledger_restore"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dr.restore",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dir", type=Path, help="working directory (default: a temporary one)")
    parser.add_argument("--port", type=int, default=6570, help="source; restores on +1, +2")
    parser.add_argument("--payments", type=int, default=500, help="before and after the anchor")
    parser.add_argument("--keep", action="store_true", help="keep the instances and files")
    return parser.parse_args(argv)


class Instance:
    """One PostgreSQL data directory, run as the postgres user when we are root."""

    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port
        major = sorted(os.listdir("/usr/lib/postgresql"), key=int)[-1]
        self.bin = Path(f"/usr/lib/postgresql/{major}/bin")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/ledger"

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}")

    def configure(self, **settings: str) -> None:
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            for key, value in settings.items():
                conf.write(f"{key} = '{value}'\n")

    def start(self) -> None:
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-w",
            "-t",
            "300",
            "start",
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def sql(self, statement: str, dbname: str = "ledger") -> object:
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"
        with psycopg.connect(url, autocommit=True) as conn:
            cursor = conn.execute(statement)
            row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


def ledger(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LEDGER, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def book(env: dict[str, str], count: int, prefix: str, fund: bool = False) -> None:
    database = DatabaseConfig(Path(env["LEDGER_DATA_DIR"]), env["LEDGER_DATABASE_URL"], SCHEMA)
    customers = customer_ibans(20)
    with closing(bootstrap(Settings().with_database(database), migrate=False)) as container:
        if fund:
            open_and_fund(container.ledger, customers)
        payments = list(transfers(customers, count, prefix, seed=19))
        for start in range(0, len(payments), 200):
            container.ledger.submit_payments(payments[start : start + 200])


def tamper(source: Instance, env: dict[str, str]) -> int:
    """Alter an early ledger event, then recompute the stored chain over it (as the audit
    test's attacker does); returns the altered notification id."""
    table = f'"{SCHEMA}".ledger_events'
    victim = int(str(source.sql(f"SELECT min(notification_id) + 5 FROM {table}")))
    with psycopg.connect(source.url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{SCHEMA}"')
        for name in ("ledger_events", "audit_chain"):
            conn.execute(f"ALTER TABLE {name} DISABLE TRIGGER append_only_rows")
        conn.execute(
            f"UPDATE ledger_events SET state = state || '\\x20' WHERE notification_id = {victim}"
        )
        conn.execute("DELETE FROM audit_chain")
        conn.execute("UPDATE rm_projection_tracking SET position = 0 WHERE projection = 'chain'")
        for name in ("ledger_events", "audit_chain"):
            conn.execute(f"ALTER TABLE {name} ENABLE TRIGGER append_only_rows")
    rechained = ledger(env, "audit", "head")
    if rechained.returncode != 0:
        raise RuntimeError(f"ledger audit head after the tampering: {rechained.stderr}")
    return victim


def restore(
    base: Path, archive: Path, data: Path, port: int, target: str
) -> tuple[Instance, float]:
    """The base backup in ``data``, the archive replayed up to ``target``, promoted; the
    seconds from start to read-write."""
    shutil.copytree(base, data)
    instance = Instance(data, port)
    if os.getuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        subprocess.run(["chown", "-R", "postgres:postgres", str(data)], check=True)
    (data / "recovery.signal").touch()
    instance.configure(
        port=str(port),
        restore_command=f"cp {archive}/%f %p",
        recovery_target_time=target,
        recovery_target_action="promote",
        archive_mode="off",
    )
    started = time.monotonic()
    instance.start()
    while instance.sql("SELECT pg_is_in_recovery()", "postgres"):
        time.sleep(0.2)
    return instance, time.monotonic() - started


def run(args: argparse.Namespace, console: Console, work: Path) -> tuple[Table, bool]:
    archive, base = work / "archive", work / "base"
    archive.mkdir(parents=True)
    if os.getuid() == 0:
        shutil.chown(archive, "postgres", "postgres")  # the server's archive_command writes here
    source = Instance(work / "source", args.port)
    source.run("initdb", "-D", str(source.data), "-U", "postgres", "-A", "trust")
    source.configure(
        port=str(args.port),
        listen_addresses="127.0.0.1",
        unix_socket_directories=str(work),
        wal_level="replica",
        archive_mode="on",
        archive_command=f"test ! -f {archive}/%f && cp %p {archive}/%f",
    )
    instances = [source]
    try:
        source.start()
        source.sql("CREATE DATABASE ledger", "postgres")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env.update(
            LEDGER_DATA_DIR=str(work / "var"),
            LEDGER_DATABASE_URL=source.url,
            LEDGER_DATABASE_SCHEMA=SCHEMA,
            LEDGER_LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        migrate(env)
        book(env, args.payments, "BEFORE-BACKUP", fund=True)
        source.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(args.port),
            "-U",
            "postgres",
            "-D",
            str(base),
            "-X",
            "stream",
            "-c",
            "fast",
        )
        console.log(f"base backup taken ({_size(base)})")
        book(env, args.payments, "AFTER-BACKUP")
        anchor = work / "anchor.json"
        exported = ledger(env, "audit", "head")
        if exported.returncode != 0:
            raise RuntimeError(f"ledger audit head: {exported.stderr}")
        anchor.write_text(exported.stdout)
        time.sleep(1.1)  # the good instant lies strictly between the anchor and the incident
        good = str(source.sql("SELECT clock_timestamp()"))
        time.sleep(1.1)
        victim = tamper(source, env)
        book(env, args.payments, "AFTER-INCIDENT")
        bad = str(source.sql("SELECT clock_timestamp()"))
        time.sleep(0.1)
        # Recovery stops at the first commit past the target: it needs one after "bad".
        source.sql("CREATE TABLE public.restore_drill_after (at timestamptz)")
        _wait_archived(source)
        console.log(f"anchor exported, event #{victim} tampered; archive {_size(archive)}")

        rows: list[tuple[str, str, str, str]] = []
        verdicts = []
        for offset, target, must_pass in ((1, good, True), (2, bad, False)):
            restored, seconds = restore(
                base, archive, work / f"restore-{offset}", args.port + offset, target
            )
            instances.append(restored)
            verified = ledger(
                {**env, "LEDGER_DATABASE_URL": restored.url},
                "audit",
                "verify",
                "--anchor",
                str(anchor),
            )
            ok = (verified.returncode == 0) == must_pass
            verdicts.append(ok)
            last = (verified.stdout + verified.stderr).strip().splitlines()
            rows.append(
                (
                    "before the incident" if must_pass else "after the tampering",
                    target,
                    f"{seconds:.1f} s",
                    ("ok: " if ok else "WRONG: ")
                    + f"exit {verified.returncode}; "
                    + " | ".join(line for line in last if "ledger" in line)[:200],
                )
            )
        table = Table(title="point-in-time restore drill (base backup + WAL archive)")
        for column in ("restored to", "instant", "recovery", "ledger audit verify --anchor"):
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        return table, all(verdicts)
    finally:
        if not args.keep:
            for instance in instances:
                instance.stop()


def _size(path: Path) -> str:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return f"{total / 1e6:.1f} MB"


def _wait_archived(source: Instance, timeout: float = 60) -> None:
    """Close the current WAL segment and wait until the archive has it (the last commit,
    the ``bad`` instant, is in it)."""
    segment = str(source.sql("SELECT pg_walfile_name(pg_switch_wal())"))
    deadline = time.monotonic() + timeout
    while str(source.sql("SELECT last_archived_wal FROM pg_stat_archiver") or "") < segment:
        if time.monotonic() > deadline:
            raise TimeoutError(f"WAL segment {segment} was not archived")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    console = Console(width=140)
    work = args.dir or Path(tempfile.mkdtemp(prefix="ledger-restore-"))
    if args.dir:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    if os.getuid() == 0:
        shutil.chown(work, "postgres", "postgres")
    try:
        table, passed = run(args, console, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    console.print(table)
    console.print("RESTORE DRILL PASSED" if passed else "RESTORE DRILL FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
