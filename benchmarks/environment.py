"""Where a benchmark runs: the stores it uses and the machine it reports."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg

from adapters.persistence import DatabaseConfig, ensure_schema

BENCH_DATABASE_URL = os.environ.get(
    "LEDGER_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ledger_bench"
)


def admin_url(url: str) -> str:
    """The same server's ``postgres`` database, for CREATE DATABASE."""
    return url.rsplit("/", 1)[0] + "/postgres"


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def fresh_store(backend: str) -> Iterator[DatabaseConfig]:
    """An empty store on ``backend`` ("sqlite" or "postgres"), removed afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    try:
        if backend == "sqlite":
            yield DatabaseConfig(data_dir=data_dir)
            return
        ensure_database(BENCH_DATABASE_URL)
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        config = DatabaseConfig(data_dir=data_dir, url=BENCH_DATABASE_URL, schema=schema)
        ensure_schema(config)
        try:
            yield config
        finally:
            with psycopg.connect(BENCH_DATABASE_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def machine_description() -> list[tuple[str, str]]:
    """CPU, cores, memory, Python, PostgreSQL: what the figures depend on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    rows = [
        ("cpu", cpu),
        ("cores", str(os.cpu_count())),
        ("memory", memory),
        ("os", f"{platform.system()} {platform.release()}"),
        ("python", platform.python_version()),
    ]
    try:
        with psycopg.connect(admin_url(BENCH_DATABASE_URL), connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            sync = conn.execute("SHOW synchronous_commit").fetchone()
        rows.append(
            (
                "postgresql",
                f"{version[0] if version else '?'} (synchronous_commit={sync[0] if sync else '?'})",
            )
        )
    except psycopg.Error as error:
        rows.append(("postgresql", f"unavailable: {error}"))
    return rows


def tool_version(tool: str) -> str | None:
    path = shutil.which(tool)
    if path is None:
        return None
    result = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip() or None


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (a figure means little on a busy machine)."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def command_env(
    database: DatabaseConfig, limits: Mapping[str, str], extra: Iterable[tuple[str, str]]
) -> dict[str, str]:
    """The environment of a ``ledger`` command on ``database``: none of the caller's
    ``LEDGER_*``, warnings-only logs, this checkout importable, then the benchmark's
    ``limits`` (what it turns off so the process is measured, not a limit) and the operator's
    ``--set`` ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEDGER_")}
    env.update(
        LEDGER_DATA_DIR=str(database.data_dir),
        LEDGER_DATABASE_URL=str(database.url),
        LEDGER_DATABASE_SCHEMA=str(database.schema),
        LEDGER_LOG_LEVEL="WARNING",
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    env.update(limits)
    env.update(dict(extra))
    return env
