"""Fixtures of the infrastructure tests: the tools in .tools/ and the rendered chart.

The tools are never skipped: the session fixture runs ``scripts/install-infra-tools.sh``
(idempotent; about a second when everything is there) and fails the run if it cannot install them.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.infra.tools import ALL_ROLES_VALUES, REPO, TOOLS_DIR, Tools


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Tools:
    script = REPO / "scripts" / "install-infra-tools.sh"
    proc = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        env={**os.environ, "LEDGER_TOOLS_DIR": str(TOOLS_DIR)},
    )
    if proc.returncode != 0:
        pytest.fail(
            "scripts/install-infra-tools.sh failed; the infrastructure checks cannot run.\n"
            f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
        )
    tools = Tools(
        bin=TOOLS_DIR / "bin",
        venv_python=TOOLS_DIR / "venv" / "bin" / "python",
        home=tmp_path_factory.mktemp("tools-home"),
    )
    for name in ("helm", "kubectl", "envoy", "checkov", "kubernetes-validate", "hcl2tojson"):
        assert (tools.bin / name).exists(), f"{name} missing from {tools.bin} after install"
    return tools


@pytest.fixture(scope="session")
def default_manifests(tools: Tools) -> list[dict]:
    return tools.render()


@pytest.fixture(scope="session")
def all_roles_manifests(tools: Tools) -> list[dict]:
    return tools.render(ALL_ROLES_VALUES)
