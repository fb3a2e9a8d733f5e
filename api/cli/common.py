"""Helpers every ``ledger`` command module shares (kept apart so they import no command module)."""

from __future__ import annotations

import getpass
import uuid

from domain.causation import Causation


def cli_causation() -> Causation:
    """The operator at the terminal as the actor of the events a command records."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "cli"
    return Causation(actor=f"user:{user}", correlation_id=f"cli-{uuid.uuid4()}", channel="CLI")
