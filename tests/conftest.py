"""Shared fixtures: the same behavioural suite runs on SQLite and on PostgreSQL.

``database`` is parametrised over both backends. Each PostgreSQL test gets a
fresh schema in the test database (``LEDGER_TEST_DATABASE_URL``, set by
``make test``), dropped afterwards, so tests never see each other's events.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from adapters.persistence import DatabaseConfig, ensure_schema

TEST_DATABASE_URL = os.environ.get(
    "LEDGER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ledger_test"
)


def _drop_schema(schema: str) -> None:
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_database(tmp_path: Path) -> DatabaseConfig:
    return DatabaseConfig(data_dir=tmp_path / "var")


@pytest.fixture
def postgres_database(tmp_path: Path) -> Iterator[DatabaseConfig]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    config = DatabaseConfig(data_dir=tmp_path / "var", url=TEST_DATABASE_URL, schema=schema)
    ensure_schema(config)
    try:
        yield config
    finally:
        _drop_schema(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> DatabaseConfig:
    """A fresh, empty store on each backend in turn."""
    fixture = "sqlite_database" if request.param == "sqlite" else "postgres_database"
    config: DatabaseConfig = request.getfixturevalue(fixture)
    return config


DIRECTORY_MARKERS = ("unit", "integration", "e2e", "broker", "infra")
"""Each test carries the marker of its directory, so ``-m unit`` (``make unit``) selects by kind."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        for kind in DIRECTORY_MARKERS:
            if kind in parts:
                item.add_marker(getattr(pytest.mark, kind))
