"""docs/configuration.md documents exactly the environment variables the code reads.

The variables are found as string literals (``"LEDGER_..."``, ``"OTEL_..."``) in the packages
that read the environment; the documented ones are the first cells of the tables' rows.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = ("api", "adapters")
VARIABLE = re.compile(r"(LEDGER|OTEL)_[A-Z0-9_]+")
ROW = re.compile(r"^\| `((?:LEDGER|OTEL)_[A-Z0-9_]+)`", re.MULTILINE)


def variables_in_code() -> set[str]:
    found: set[str] = set()
    for package in READERS:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
                if is_text and VARIABLE.fullmatch(node.value):
                    found.add(node.value)
    return found


def documented_variables() -> set[str]:
    return set(ROW.findall((ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")))


def test_every_variable_the_code_reads_is_documented() -> None:
    assert sorted(variables_in_code() - documented_variables()) == []


def test_every_documented_variable_is_read_by_the_code() -> None:
    assert sorted(documented_variables() - variables_in_code()) == []


def test_the_scan_finds_the_variables_it_should() -> None:
    assert {"LEDGER_DATABASE_URL", "LEDGER_AUTH_ISSUER", "OTEL_SERVICE_NAME"} <= variables_in_code()
