"""The published SDL (api/graphql/schema.graphql, which frontends generate clients from)
is the schema the server runs."""

from __future__ import annotations

from api.graphql.schema import SCHEMA_FILE, build_schema


def test_the_committed_schema_file_is_the_running_schema():
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == build_schema().as_str() + "\n", (
        "api/graphql/schema.graphql is stale: regenerate it with "
        "`.venv/bin/python -m api.graphql.schema > /dev/null`"
    )
