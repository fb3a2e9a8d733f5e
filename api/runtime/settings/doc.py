"""docs/configuration.md, generated from the settings classes (and checked by a test).

Each section of :mod:`api.runtime.settings` becomes a table: the variable (the field's
alias), its default and its meaning (the ``doc`` of :func:`.base.env`). The variables read
outside the settings by design are listed here, with the reason, in :data:`OUTSIDE`.
Write it with ``python scripts/gen-configuration-doc.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from api.runtime.settings import READERS, SECTIONS, Settings
from api.runtime.settings.base import Section


@dataclass(frozen=True)
class Outside:
    """A variable that is not a setting: who reads it, and why not through :class:`Settings`."""

    name: str
    default: str
    meaning: str
    reader: str


OTEL_REASON = "read by OpenTelemetry's own conventions in `api/runtime/tracing.py`"
OUTSIDE: tuple[Outside, ...] = (
    Outside(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "unset",
        "OpenTelemetry collector's OTLP/HTTP base URL (e.g. `http://otel-collector:4318`; spans "
        "go to `/v1/traces`); set = the process emits traces, unset = no tracing at all",
        OTEL_REASON,
    ),
    Outside(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "unset",
        "the full OTLP/HTTP traces URL; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`",
        OTEL_REASON,
    ),
    Outside(
        "OTEL_SDK_DISABLED",
        "`false`",
        "`true` turns tracing off even with an endpoint set",
        OTEL_REASON,
    ),
    Outside(
        "OTEL_SERVICE_NAME",
        "`backoffice-ledger-<role>`",
        "`service.name` of the spans (`<role>` as in `ledger serve --role`; `all` for "
        "`app_from_env`); `OTEL_RESOURCE_ATTRIBUTES` adds more",
        OTEL_REASON,
    ),
)
"""Read by the running code (api/, adapters/), not through the settings."""

TOOLS_REASON = "tests, benchmarks and scripts only; the ledger itself never reads it"
TOOLS: tuple[Outside, ...] = (
    Outside(
        "LEDGER_TEST_DATABASE_URL",
        "`postgresql://postgres@127.0.0.1:5432/ledger_test`",
        "the PostgreSQL the tests (and `scripts/connections-per-role.py`) use",
        TOOLS_REASON,
    ),
    Outside("LEDGER_TEST_STOMP_HOST", "`127.0.0.1`", "RabbitMQ of the broker tests", TOOLS_REASON),
    Outside("LEDGER_TEST_STOMP_PORT", "`61613`", "its STOMP port", TOOLS_REASON),
    Outside(
        "LEDGER_TEST_ACTIVEMQ_PORT", "`61614`", "ActiveMQ's STOMP+TLS port (tests)", TOOLS_REASON
    ),
    Outside(
        "LEDGER_EDGE_TEST_JWKS", "set by the tests", "the JWKS of the Envoy tests", TOOLS_REASON
    ),
    Outside(
        "LEDGER_TOOLS_DIR", "`<repo>/.tools`", "where `make infra-tools` installs", TOOLS_REASON
    ),
    Outside("LEDGER_TF_PLUGIN_DIR", "`/opt/tf-plugins`", "Terraform provider mirror", TOOLS_REASON),
    *(
        Outside(f"LEDGER_TEST_DB_{part}", default, f"{what} of the test database", TOOLS_REASON)
        for part, default, what in (
            ("HOST", "`127.0.0.1`", "host"),
            ("PORT", "`5432`", "port"),
            ("USER", "`postgres`", "user (and owner)"),
            ("NAME", "`ledger_test`", "name"),
        )
    ),
    Outside(
        "LEDGER_HA_DIR",
        "`<repo>/var/ha`",
        "data of the local HA cluster (`scripts/ha-cluster.sh`, the DR drill)",
        TOOLS_REASON,
    ),
    Outside(
        "LEDGER_HA_PORT",
        "`6540`",
        "its monitor's port (the nodes on the next two)",
        TOOLS_REASON,
    ),
    Outside(
        "LEDGER_BENCH_DATABASE_URL",
        "`postgresql://postgres@127.0.0.1:5432/ledger_bench`",
        "the PostgreSQL of the benchmarks",
        TOOLS_REASON,
    ),
)
"""Read by tests, benchmarks and scripts only."""

TITLES: dict[str, str] = {
    "": "Process",
    "database": "Database",
    "projections": "Projections",
    "ledger": "Screening limits and approvals",
    "fraud": "Fraud detection",
    "auth": "Authentication",
    "graphql": "GraphQL",
    "http": "HTTP",
    "stomp": "Message broker",
    "notifications": "Notifications",
    "reconciliation": "Reconciliation",
    "partitions": "Partition leases",
    "vop": "Verification of Payee",
}
"""The heading of each section's table, by its attribute on :class:`Settings`."""

HEADER = """\
# Configuration

<!-- Generated from api/runtime/settings/ by scripts/gen-configuration-doc.py; do not edit.
     tests/unit/test_configuration_doc.py fails when this file and the settings differ. -->

Everything comes from environment variables, read once at startup
(`Settings.from_env()` in `api/runtime/settings/`). An invalid value stops the process with
exit code 2 and a message naming the variable; every problem is reported at once.
Each table below is one section of the settings; the code reads its fields as attributes of
that section (`settings.fraud.review_score` for `LEDGER_FRAUD_REVIEW_SCORE`).

Limits are `CCY:AMOUNT` pairs separated by commas; a currency without a limit is not limited;
the value `none` switches a rule off.
"""


def variables() -> list[str]:
    """Every variable the settings read."""
    return [name for reader in READERS for name in reader.variables()]


def render() -> str:
    parts = [HEADER]
    readers: list[tuple[str, type[Section]]] = [("", Settings), *SECTIONS.items()]
    for name, reader in readers:
        where = f"`settings.{name}`" if name else "`settings`"
        summary = f"{_summary(reader)} In the code: {where}."
        parts.append(_table(TITLES[name], summary, _rows(reader)))
    parts.append(
        _table(
            "Read outside the settings",
            "OpenTelemetry's variables follow its specification and are read where tracing is "
            "configured, not by `Settings`.",
            [(o.name, o.default, f"{o.meaning} ({o.reader})") for o in OUTSIDE],
        )
    )
    parts.append(
        _table(
            "Tests and tools",
            "Not read by the ledger: the tests, benchmarks, the Makefile and scripts use these "
            "(`make test` sets `LEDGER_TEST_DATABASE_URL` from the `LEDGER_TEST_DB_*` ones; "
            "each script under `scripts/` names its own variables in its header).",
            [(o.name, o.default, o.meaning) for o in TOOLS],
        )
    )
    return "\n".join(parts)


def write(path: Path) -> bool:
    """Write the doc to ``path``; whether it changed."""
    text = render()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def _summary(reader: type[Section]) -> str:
    """The first paragraph of the section's docstring, reStructuredText roles as code."""
    doc = (reader.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    return re.sub(r":\w+:`~?([^`]+)`", r"`\1`", doc).replace("``", "`")


def _rows(reader: type[Section]) -> list[tuple[str, str, str]]:
    rows = []
    for field in reader.model_fields.values():
        if field.validation_alias is None:
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        shown = extra.get("shown")
        default = str(shown) if shown is not None else _shown(_default(field))
        rows.append((str(field.validation_alias), default, str(extra.get("doc", ""))))
    return rows


def _default(field: FieldInfo) -> Any:
    return field.get_default(call_default_factory=True, validated_data={})


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    if isinstance(value, tuple):
        return f"`{','.join(map(str, value))}`" if value else "empty"
    return f"`{value}`"


def _table(title: str, summary: str, rows: list[tuple[str, str, str]]) -> str:
    lines = [f"## {title}", "", summary, "", "| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {default} | {meaning} |" for name, default, meaning in rows]
    return "\n".join(lines) + "\n"
