"""docs/configuration.md is generated from the settings classes, and the settings are exactly
the environment variables the code reads.

The variables the code reads are found as string literals (``"LEDGER_..."``, ``"OTEL_..."``)
in the packages that read the environment (api/, adapters/); the ones the tests, benchmarks
and scripts read must be settings or listed as tools' variables. The documented ones are the
first cells of the doc's tables' rows.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from api.runtime.settings.doc import OUTSIDE, TOOLS, render, variables

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
READERS = ("api", "adapters")
TOOL_READERS = ("tests", "benchmarks", "scripts")
NAMES_ONLY = ROOT / "api" / "runtime" / "settings" / "doc.py"  # lists variables, reads none
VARIABLE = re.compile(r"(LEDGER|OTEL)_[A-Z0-9_]+")
ROW = re.compile(r"^\| `((?:LEDGER|OTEL)_[A-Z0-9_]+)`", re.MULTILINE)


def literals(*packages: str) -> set[str]:
    found: set[str] = set()
    for package in packages:
        for path in (ROOT / package).rglob("*.py"):
            if path == NAMES_ONLY:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
                if is_text and VARIABLE.fullmatch(node.value):
                    found.add(node.value)
    return found


def settings_variables() -> set[str]:
    return set(variables())


def read_outside() -> set[str]:
    return {outside.name for outside in OUTSIDE}


def test_the_checked_in_doc_is_the_generated_one() -> None:
    """Fails after a change to the settings: run python scripts/gen-configuration-doc.py."""
    assert DOC.read_text(encoding="utf-8") == render()


def test_every_variable_the_code_reads_is_a_setting_or_listed_as_read_outside() -> None:
    code = literals(*READERS)
    assert sorted(code - settings_variables() - read_outside()) == []


def test_every_setting_and_every_variable_listed_outside_is_read_by_the_code() -> None:
    assert sorted((settings_variables() | read_outside()) - literals(*READERS)) == []


def test_no_variable_is_both_a_setting_and_read_outside() -> None:
    assert settings_variables().isdisjoint(read_outside() | {t.name for t in TOOLS})


def test_the_variables_of_tests_and_tools_are_settings_or_listed() -> None:
    known = settings_variables() | read_outside() | {tool.name for tool in TOOLS}
    assert sorted(literals(*TOOL_READERS) - known) == []


def test_the_doc_lists_every_variable_once() -> None:
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    assert len(rows) == len(set(rows))
    assert set(rows) == settings_variables() | read_outside() | {t.name for t in TOOLS}


def test_the_scan_finds_the_variables_it_should() -> None:
    assert {"LEDGER_DATABASE_URL", "LEDGER_AUTH_ISSUER", "OTEL_SERVICE_NAME"} <= literals(*READERS)
    assert "LEDGER_TEST_DATABASE_URL" in literals(*TOOL_READERS)
