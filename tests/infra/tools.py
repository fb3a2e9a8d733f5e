"""The tools in .tools/ (installed by scripts/install-infra-tools.sh) and helpers around them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS_DIR = Path(os.environ.get("LEDGER_TOOLS_DIR", REPO / ".tools"))
CHART = REPO / "deploy" / "helm" / "backoffice-ledger"
ALL_ROLES_VALUES = CHART / "ci" / "all-roles-values.yaml"
TERRAFORM = REPO / "terraform"
ENVOY_DIR = REPO / "deploy" / "envoy"

# The EKS version of terraform/modules/eks (kubernetes_version default); the chart is validated
# against its schemas.
KUBERNETES_VERSION = "1.33.0"
ROLES = ("api", "projector", "ingestion", "fraud", "reconciliation", "notifications", "vop")
RELEASE = "backoffice-ledger"
NAMESPACE = "ledger"


@dataclass(frozen=True)
class Tools:
    bin: Path
    venv_python: Path
    home: Path  # scratch HOME for helm caches, shared by the session

    def path(self, name: str) -> str:
        return str(self.bin / name)

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for the tools: .tools/bin first on PATH (checkov calls `helm`)."""
        env = dict(os.environ)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        for var, sub in (
            ("HELM_CACHE_HOME", "cache"),
            ("HELM_CONFIG_HOME", "config"),
            ("HELM_DATA_HOME", "data"),
        ):
            env[var] = str(self.home / "helm" / sub)
        env.update(extra)
        return env

    def run(
        self,
        args: Sequence[str],
        *,
        input: str | None = None,
        check: bool = False,
        timeout: float = 180,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(args),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=env or self.env(),
            check=False,
        )
        if check and proc.returncode != 0:
            pytest.fail(
                f"{' '.join(args[:3])} ... exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
            )
        return proc

    def yaml_to_json(self, text: str) -> list[dict]:
        """Parse a multi-document YAML stream with the tools' PyYAML (the project has none)."""
        proc = self.run(
            [
                str(self.venv_python),
                "-c",
                "import json, sys, yaml; "
                "json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)",
            ],
            input=text,
            check=True,
        )
        return json.loads(proc.stdout)

    # ------------------------------------------------------------------ helm

    def helm_template(
        self, *values_files: Path, sets: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        args = [self.path("helm"), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        for file in values_files:
            args += ["--values", str(file)]
        for item in sets:
            args += ["--set", item]
        return self.run(args)

    def render(self, *values_files: Path, sets: Sequence[str] = ()) -> list[dict]:
        proc = self.helm_template(*values_files, sets=sets)
        assert proc.returncode == 0, proc.stderr
        return self.yaml_to_json(proc.stdout)


def by_kind(manifests: list[dict], kind: str) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in manifests if m.get("kind") == kind}


def checkov_json(proc: subprocess.CompletedProcess[str]) -> list[dict]:
    """checkov -o json prints one report or a list of reports (one per framework)."""
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov printed no JSON:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    reports = data if isinstance(data, list) else [data]
    return [r for r in reports if "results" in r]


def failed_checks(reports: list[dict]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']} ({c.get('file_path')}:{c.get('file_line_range')})"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
