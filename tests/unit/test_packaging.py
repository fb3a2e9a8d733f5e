"""What a (non-editable) install ships: every module of the five packages.

``pyproject.toml`` finds packages with ``namespaces = false``, so a directory without an
``__init__.py`` is silently left out of the wheel and the image, while development installs,
running from the source tree, still import it (domain/fraud once went missing that way).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "application", "projections", "adapters", "api")


def test_every_directory_with_modules_is_a_package_the_wheel_includes():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    assert find.get("namespaces") is False
    shipped = set(
        find_packages(str(ROOT), include=find["include"], exclude=find.get("exclude", ()))
    )
    with_modules = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for top in PACKAGES
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert with_modules - shipped == set(), "add an __init__.py to these directories"
