"""The import-linter contract keeps the model's numeric stack out of domain and application."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_domain_and_application_may_not_import_the_numeric_stack():
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (framework,) = [
        c for c in contracts if c["name"] == "domain and application import no framework"
    ]
    assert set(framework["source_modules"]) == {"domain", "application"}
    assert {"lightgbm", "numpy", "sklearn", "matplotlib"} <= set(framework["forbidden_modules"])
