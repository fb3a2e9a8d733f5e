"""The chart's alerting rules: valid for Prometheus, every alert unit-tested, wired to real metrics.

``deploy/helm/backoffice-ledger/files/prometheus-rules.yaml`` is checked and unit-tested with
promtool (Debian's ``prometheus`` package, unpacked into .tools/bin by
``scripts/install-promtool.sh``), and the PrometheusRule the chart renders carries exactly its
groups. An alert on a metric nobody exports never fires, so every ``ledger_*`` series a rule reads
must be one the code registers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.infra.tools import ALL_ROLES_VALUES, CHART, REPO, TOOLS_DIR, Tools, by_kind

RULES = CHART / "files" / "prometheus-rules.yaml"
RULE_TESTS = REPO / "tests" / "infra" / "prometheus" / "alerts_test.yaml"
SOURCES = ("adapters", "api", "application", "projections")
# prometheus_client appends these to what the code names (a counter's _total, a histogram's series).
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


@pytest.fixture(scope="module")
def promtool() -> Path:
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "install-promtool.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "LEDGER_TOOLS_DIR": str(TOOLS_DIR)},
    )
    assert proc.returncode == 0, f"install-promtool.sh failed:\n{proc.stdout}\n{proc.stderr}"
    return TOOLS_DIR / "bin" / "promtool"


def run(promtool: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def rules(tools: Tools) -> dict:
    (document,) = tools.yaml_to_json(RULES.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def rule_tests(tools: Tools) -> dict:
    (document,) = tools.yaml_to_json(RULE_TESTS.read_text(encoding="utf-8"))
    return document


def alerts_of(rules: dict) -> dict[str, dict]:
    return {r["alert"]: r for g in rules["groups"] for r in g["rules"] if "alert" in r}


def test_promtool_accepts_the_rules(promtool: Path) -> None:
    proc = run(promtool, "check", "rules", str(RULES))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_unit_tests_pass(promtool: Path) -> None:
    proc = run(promtool, "test", "rules", str(RULE_TESTS))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_unit_tests_can_fail(promtool: Path, tmp_path: Path) -> None:
    """The unit tests would notice a threshold moved: raising the projection-lag threshold tenfold
    makes the test that expects the alert fail."""
    broken = RULES.read_text(encoding="utf-8").replace(
        "max by (projection, context) (ledger_projection_lag_events) > 1000",
        "max by (projection, context) (ledger_projection_lag_events) > 10000",
    )
    assert broken != RULES.read_text(encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(broken, encoding="utf-8")
    tests = RULE_TESTS.read_text(encoding="utf-8").replace(
        "../../../deploy/helm/backoffice-ledger/files/prometheus-rules.yaml", "rules.yaml"
    )
    (tmp_path / "alerts_test.yaml").write_text(tests, encoding="utf-8")
    proc = run(promtool, "test", "rules", str(tmp_path / "alerts_test.yaml"))
    assert proc.returncode != 0
    assert "LedgerProjectionLagHigh" in proc.stdout + proc.stderr


def test_every_alert_is_tested_firing_and_silent(rules: dict, rule_tests: dict) -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    for case in rule_tests["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = set(alerts_of(rules))
    assert alerts - fired == set(), "alerts no unit test sees firing"
    assert alerts - silent == set(), "alerts no unit test sees staying silent"


def test_every_alert_has_a_severity_and_explains_itself(rules: dict) -> None:
    for name, alert in alerts_of(rules).items():
        assert alert["labels"]["severity"] in {"warning", "critical"}, name
        assert alert["annotations"]["summary"] and alert["annotations"]["description"], name


def test_the_issue_s_alerts_exist(rules: dict) -> None:
    """Ingestion lag, DLQ growth, projection lag and quarantine, outbox lag, error and latency
    SLO burn rates, replication lag, certificate expiry (issue #19)."""
    expressions = " ".join(a["expr"] for a in alerts_of(rules).values())
    for metric in (
        "ledger_ingestion_end_to_end_seconds_bucket",
        "ledger_ingestion_dead_lettered_messages_total",
        "ledger_projection_lag_events",
        "ledger_quarantined_events",
        "ledger_outbox_position",
        "ledger:http_error_ratio:rate1h",
        "ledger:http_slow_ratio:rate1h",
        "pg_replication_lag_seconds",
        "probe_ssl_earliest_cert_expiry",
    ):
        assert metric in expressions, metric


def exported_metric_names() -> set[str]:
    pattern = re.compile(r'"(ledger_[a-z0-9_]+)"')
    names: set[str] = set()
    for package in SOURCES:
        for path in (REPO / package).rglob("*.py"):
            names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return names


def test_every_ledger_series_a_rule_reads_is_exported(rules: dict) -> None:
    exported = exported_metric_names()
    series = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in re.findall(r"\b(ledger_[a-z0-9_]+)", rule["expr"])
    }
    assert series
    missing = set()
    for name in series:
        bases = {name} | {name.removesuffix(s) for s in SUFFIXES if name.endswith(s)}
        if not bases & exported:
            missing.add(name)
    assert missing == set(), f"rules read series the code does not export: {sorted(missing)}"


def test_the_chart_renders_the_rules_when_enabled(tools: Tools, rules: dict) -> None:
    manifests = tools.render(ALL_ROLES_VALUES)
    (rule,) = by_kind(manifests, "PrometheusRule").values()
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert json.dumps(rule["spec"], sort_keys=True) == json.dumps(rules, sort_keys=True)
    assert rule["metadata"]["labels"]["app.kubernetes.io/name"]


def test_the_chart_renders_no_rules_by_default(default_manifests: list[dict]) -> None:
    assert by_kind(default_manifests, "PrometheusRule") == {}
