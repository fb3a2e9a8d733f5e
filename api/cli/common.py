"""Helpers every ``ledger`` command module shares (kept apart so they import no command module).

The exit codes are the CLI's contract with scripts and tests: 0 done, 1 the command ran and
found a failure (a bad row, a break, a broken chain), 2 a usage or configuration problem
(nothing was changed).
"""

from __future__ import annotations

import getpass
import sys
import uuid
from typing import TextIO

from rich.console import Console

from api.runtime.settings import Settings
from domain.causation import Causation

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def cli_causation() -> Causation:
    """The operator at the terminal as the actor of the events a command records."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "cli"
    return Causation(actor=f"user:{user}", correlation_id=f"cli-{uuid.uuid4()}", channel="CLI")


def console(stream: TextIO | None = None) -> Console:
    """A rich console on ``stream`` (default: the current ``sys.stdout``, so capture works)."""
    return Console(file=stream or sys.stdout, soft_wrap=True)


def read_only_database(settings: Settings) -> bool:
    """Whether the configured database refuses writes (a hot standby: the secondary region, a
    restored replica). Commands that only read then bootstrap without DDL, which a standby
    would refuse."""
    from adapters.database_state import is_read_only_database
    from adapters.persistence import read_model_engine

    engine = read_model_engine(settings.database_config())
    try:
        return is_read_only_database(engine)
    finally:
        engine.dispose()
