"""The read-model revisions (adapters/migrations): one line of history, frozen, shipped.

A revision must never change once released, so it imports nothing from our packages (a
column type imported from ``projections.tables`` would change the DDL of an old revision
when the code changes); and a package build ships the environment, the template and every
revision (a wheel or image without them could not run ``ledger migrate``).
"""

from __future__ import annotations

import ast
from pathlib import Path

from adapters import migrations
from adapters.migration import SchemaNotMigrated
from tests.packaging_support import build_packages

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = migrations.SCRIPTS / "versions"
OURS = ("domain", "application", "projections", "adapters", "api")


def _revision_files() -> list[Path]:
    return sorted(p for p in VERSIONS.glob("v*.py"))


def test_the_revisions_form_one_line_numbered_from_the_baseline() -> None:
    scripts = migrations.scripts()
    assert scripts.get_heads() == [migrations.head()]
    chain = [r.revision for r in scripts.walk_revisions()][::-1]  # base first
    assert chain[0] == migrations.BASELINE
    assert chain == [f"{n:04d}" for n in range(1, len(chain) + 1)]
    assert [p.name.split("_")[0] for p in _revision_files()] == [f"v{r}" for r in chain]


def test_a_revision_imports_nothing_of_ours() -> None:
    for path in _revision_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not [n for n in names if n.split(".")[0] in OURS], path.name


def test_the_revisions_name_every_table_the_code_defines() -> None:
    """Each revision's ``TABLES`` lists what it creates; together, every table of the code
    (the baseline's alone are what a database made before Alembic is recognised by)."""
    named = [
        t for r in migrations.scripts().walk_revisions() for t in getattr(r.module, "TABLES", ())
    ]
    assert len(named) == len(set(named))
    assert set(named) == set(migrations.target_metadata().tables)
    assert migrations.baseline_tables() < set(named)


def test_behind_means_no_revision_or_one_of_ours_before_the_head() -> None:
    assert migrations.is_behind(None)
    assert not migrations.is_behind(migrations.head())
    assert not migrations.is_behind("9999")  # a newer release's (expand-only): runs on it


def test_the_refusal_names_what_is_missing_and_the_command() -> None:
    assert str(SchemaNotMigrated(None)) == (
        "the database is not migrated (schema version none, this code needs 1): "
        "run `ledger migrate` first"
    )
    refused = SchemaNotMigrated(1, revision=None, head="0001")
    assert str(refused) == (
        "the database is not migrated (read-model revision none, this code needs 0001): "
        "run `ledger migrate` first"
    )


def test_a_build_of_the_package_ships_the_migration_environment(tmp_path: Path) -> None:
    """setuptools' build_py over a copy of the sources, with pyproject's package-data."""
    built = build_packages(tmp_path) / "adapters" / "migrations"
    shipped = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    wanted = {
        p.relative_to(migrations.SCRIPTS).as_posix()
        for p in migrations.SCRIPTS.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {"env.py", "script.py.mako", "versions/v0001_baseline.py"} <= wanted
    assert wanted - shipped == set()
