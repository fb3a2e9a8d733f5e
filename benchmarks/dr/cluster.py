"""The local HA cluster as the drill sees it: ``scripts/ha-cluster.sh`` and SQL on its nodes.

:class:`LogWatcher` follows the ledger's event log through the cluster's read-write URL: it
reconnects on every failure (the primary is gone during a failover), and once a failover has
happened it counts again from zero on the new primary, so a tail the old primary lost (with
asynchronous replication) is not counted as booked.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from benchmarks.scale_out.checks import DECIDED, TRANSACTION

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ha-cluster.sh"
DECIDED_TOPICS = [TRANSACTION + outcome for outcome in DECIDED]


def cluster(*args: str, timeout: float = 300) -> str:
    """Run ``scripts/ha-cluster.sh ARGS`` (with the caller's ``LEDGER_HA_*``); its stdout."""
    result = subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ha-cluster.sh {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


@dataclass(frozen=True)
class Replication:
    """The primary's view of its standby just before the kill."""

    mode: str
    """``quorum``/``sync`` (synchronous) or ``async``; ``none`` without a standby."""
    lag_bytes: int
    replay_lag_s: float


def replication(url: str) -> Replication:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, "
            "coalesce(extract(epoch FROM replay_lag), 0)::float8 FROM pg_stat_replication "
            "LIMIT 1"
        ).fetchone()
    if row is None:
        return Replication("none", 0, 0.0)
    return Replication(str(row[0]), int(row[1] or 0), float(row[2]))


class LogWatcher:
    """Payments decided in ``schema``'s ledger log, as the current primary has them."""

    def __init__(self, url: str, schema: str) -> None:
        self.url = url
        self.table = f'"{schema}".ledger_events'
        self.conn: psycopg.Connection | None = None
        self.position = 0
        self.decided = 0
        self.port: str | None = None
        self.failovers = 0

    def sample(self) -> int | None:
        """The payments decided so far, or None when no primary answers right now."""
        try:
            if self.conn is None or self.conn.closed:
                self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=1)
                port = self.conn.info.port
                if self.port is not None and str(port) != self.port:
                    self.failovers += 1  # a new primary: count its log from the start
                    self.position, self.decided = 0, 0
                self.port = str(port)
            row = self.conn.execute(
                f"SELECT count(*) FILTER (WHERE topic = ANY(%s)), max(notification_id) "
                f"FROM {self.table} WHERE notification_id > %s",
                (DECIDED_TOPICS, self.position),
            ).fetchone()
        except psycopg.Error:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None
        if row and row[1] is not None:
            self.decided += int(row[0])
            self.position = int(row[1])
        return self.decided

    def wait_for(self, count: int, timeout: float, poll: float = 0.1) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.sample()
            if seen is not None and seen >= count:
                return seen
            time.sleep(poll)
        raise TimeoutError(f"{count:,} payments not decided within {timeout:.0f} s")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
