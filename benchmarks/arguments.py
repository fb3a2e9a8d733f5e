"""Command-line argument types shared by the benchmark commands."""

from __future__ import annotations

import argparse


def ledger_setting(text: str) -> tuple[str, str]:
    """``LEDGER_NAME=value`` (``--set``): a setting given to the processes a benchmark starts."""
    key, sep, value = text.partition("=")
    if not sep or not key.startswith("LEDGER_"):
        raise argparse.ArgumentTypeError(f"expected LEDGER_NAME=value, got {text!r}")
    return key, value


def counts(text: str) -> list[int]:
    """``1,2`` (``--processes``): positive counts, in the order given."""
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"expected a list like 1,2, got {text!r}")
    return values
