"""What a normal (non-editable) install of the project would contain: setuptools' ``build_py``
over a copy of the sources, with pyproject's package-data (for the tests that check the data
files a package needs are shipped: static assets, migration scripts)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "application", "projections", "adapters", "api")


def build_packages(tmp_path: Path) -> Path:
    """Build the five packages into ``tmp_path / "lib"`` and return that directory."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    lib = tmp_path / "lib"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from setuptools import setup; setup()",
            "-q",
            "build_py",
            "--build-lib",
            str(lib),
        ],
        cwd=source,
        check=True,
        capture_output=True,
    )
    return lib
