"""Small modules: no module of domain, application, projections or api over 400 lines without
a reason at its top.

A module that must stay longer says why in a comment on its first line (``# Over 400 lines:
<reason>``), so a reader knows it is deliberate (issue 13).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "application", "projections", "api")
LIMIT = 400
REASON = "# Over 400 lines:"

pytestmark = pytest.mark.unit


def _long_modules_without_reason() -> list[str]:
    found = []
    for package in PACKAGES:
        for module in sorted((ROOT / package).rglob("*.py")):
            lines = module.read_text(encoding="utf-8").splitlines()
            if len(lines) <= LIMIT:
                continue
            if lines and lines[0].startswith(REASON) and len(lines[0]) > len(REASON) + 10:
                continue
            found.append(f"{module.relative_to(ROOT)}: {len(lines)} lines")
    return found


def test_every_module_over_the_limit_says_why_at_its_top() -> None:
    assert _long_modules_without_reason() == []
