"""terraform/: formatting, provider-schema validation, checkov, and the promises of issue 6.

``terraform init`` needs providers, which come only from the Terraform registry; where a local
provider mirror exists (LEDGER_TF_PLUGIN_DIR, default /opt/tf-plugins) ``terraform validate`` runs
against the real AWS provider schema. Where terraform or the mirror is missing those two checks
report a warning and pass; every other check here needs only the tools in .tools/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.infra.hcl_promises import check_promises
from tests.infra.tools import TERRAFORM, Tools, checkov_json, failed_checks

PLUGIN_DIR = Path(os.environ.get("LEDGER_TF_PLUGIN_DIR", "/opt/tf-plugins"))


def terraform_binary() -> str | None:
    return shutil.which("terraform")


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """A scratch copy of terraform/ to break on purpose."""
    copy = tmp_path / "terraform"
    shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform*"))
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not found in {path}: the broken-copy test is out of date"
    path.write_text(text.replace(old, new, 1))


# ---------------------------------------------------------------------------- the promises


def test_hcl_promises_hold(tools: Tools) -> None:
    """Three AZs, two regions, NAT per AZ, encryption at rest, deletion protection, no ingress
    from the internet except the ALB on 443, Aurora global database, MQ active/standby, ..."""
    assert check_promises(TERRAFORM, tools.path("hcl2tojson")) == []


def test_promise_check_catches_ssh_open_to_the_world(tools: Tools, tree_copy: Path) -> None:
    main = tree_copy / "modules" / "mq" / "main.tf"
    main.write_text(
        main.read_text()
        + """
resource "aws_vpc_security_group_ingress_rule" "ssh" {
  security_group_id = aws_security_group.this.id
  description       = "debugging"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = "0.0.0.0/0"
}
"""
    )
    problems = check_promises(tree_copy, tools.path("hcl2tojson"))
    assert any("ingress_rule.ssh opens tcp 22-22 to 0.0.0.0/0" in p for p in problems), problems


def test_promise_check_catches_a_missing_vop_rate_rule(tools: Tools, tree_copy: Path) -> None:
    edit(
        tree_copy / "modules" / "edge" / "main.tf",
        '            search_string         = "/v1/vop/payee-verifications"\n            positional',
        '            search_string         = "/v1/accounts/"\n            positional',
    )
    problems = check_promises(tree_copy, tools.path("hcl2tojson"))
    assert (
        "modules/edge: WAF has no rate-based rule scoped to /v1/vop/payee-verifications" in problems
    ), problems


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('type     = "NORMALIZE_PATH"', 'type     = "NONE"', "does not normalise the path"),
        ('type     = "URL_DECODE"', 'type     = "NONE"', "does not percent-decode the path"),
    ],
    ids=["no-normalize", "no-decode"],
)
def test_promise_check_catches_a_vop_path_match_that_dot_segments_evade(
    tools: Tools, tree_copy: Path, old: str, new: str, problem: str
) -> None:
    """``/v1/vop/payee-verifications/../../accounts/X`` is ``/v1/accounts/X`` to Envoy: the
    WAF must not count it against the (300x larger) VoP per-IP limit."""
    main = tree_copy / "modules" / "edge" / "main.tf"
    main.write_text(main.read_text().replace(old, new))  # both VoP matches
    problems = check_promises(tree_copy, tools.path("hcl2tojson"))
    assert any(problem in p and "/v1/vop/payee-verifications" in p for p in problems), problems


def test_promise_check_catches_inline_world_ingress_on_the_alb_other_than_443(
    tools: Tools, tree_copy: Path
) -> None:
    edit(
        tree_copy / "modules" / "edge" / "main.tf",
        '  from_port         = 443\n  to_port           = 443\n  cidr_ipv4         = "0.0.0.0/0"',
        '  from_port         = 80\n  to_port           = 80\n  cidr_ipv4         = "0.0.0.0/0"',
    )
    problems = check_promises(tree_copy, tools.path("hcl2tojson"))
    assert any("opens tcp 80-80 to 0.0.0.0/0" in p for p in problems), problems


def test_promise_check_catches_an_unencrypted_database(tools: Tools, tree_copy: Path) -> None:
    edit(
        tree_copy / "modules" / "database" / "main.tf",
        "storage_encrypted                   = true",
        "storage_encrypted                   = false",
    )
    problems = check_promises(tree_copy, tools.path("hcl2tojson"))
    assert any(
        "aws_rds_cluster.this not encrypted at rest: storage_encrypted is not true" in p
        for p in problems
    ), problems


def test_promise_check_catches_missing_deletion_protection(tools: Tools, tree_copy: Path) -> None:
    edit(
        tree_copy / "modules" / "database" / "main.tf",
        "deletion_protection                 = true",
        "deletion_protection                 = false",
    )
    problems = check_promises(tree_copy, tools.path("hcl2tojson"))
    assert any("aws_rds_cluster.this has no deletion protection" in p for p in problems), problems


def test_promise_check_catches_a_missing_replication_lag_alarm(
    tools: Tools, tree_copy: Path
) -> None:
    edit(
        tree_copy / "envs" / "secondary" / "main.tf",
        "db_is_global_secondary = true",
        "db_is_global_secondary = false",
    )
    edit(
        tree_copy / "modules" / "alarms" / "main.tf",
        'metric_name         = "AuroraReplicaLagMaximum"',
        'metric_name         = "CPUUtilization"',
    )
    problems = check_promises(tree_copy, tools.path("hcl2tojson"))
    assert "envs/secondary: no alarm on the global database's replication lag" in problems
    assert "modules/alarms: no alarm on AuroraReplicaLag" in problems


def test_promise_check_catches_two_azs_and_a_single_nat(tools: Tools, tree_copy: Path) -> None:
    edit(
        tree_copy / "envs" / "primary" / "main.tf",
        '["us-east-1a", "us-east-1b", "us-east-1c"]',
        '["us-east-1a", "us-east-1b"]',
    )
    edit(
        tree_copy / "modules" / "network" / "main.tf",
        'resource "aws_nat_gateway" "this" {\n  count = local.az_count',
        'resource "aws_nat_gateway" "this" {\n  count = 1',
    )
    problems = check_promises(tree_copy, tools.path("hcl2tojson"))
    assert any("envs/primary: network is not spread over three" in p for p in problems), problems
    assert any("NAT gateway this is not one per AZ" in p for p in problems), problems


def test_promise_check_catches_a_wrong_region(tools: Tools, tree_copy: Path) -> None:
    edit(tree_copy / "envs" / "secondary" / "main.tf", '"us-west-2"', '"us-east-2"')
    problems = check_promises(tree_copy, tools.path("hcl2tojson"))
    assert any("envs/secondary: aws provider region is 'us-east-2'" in p for p in problems)


# ---------------------------------------------------------------------------- checkov


def run_checkov(tools: Tools, directory: Path) -> list[dict]:
    proc = tools.run(
        [
            tools.path("checkov"),
            "--directory",
            str(directory),
            "--framework",
            "terraform",
            "--skip-download",
            "--output",
            "json",
        ],
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return checkov_json(proc)


def test_checkov_passes_on_terraform(tools: Tools) -> None:
    reports = run_checkov(tools, TERRAFORM)
    assert reports and reports[0]["summary"]["passed"] > 200, "checkov scanned (almost) nothing"
    assert failed_checks(reports) == []
    # Every suppression carries its reason next to it (#checkov:skip=ID:reason).
    for report in reports:
        for skipped in report["results"]["skipped_checks"]:
            reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) > 20, f"{skipped['check_id']} skipped without a reason"


def test_checkov_catches_ssh_open_to_the_world(tools: Tools, tree_copy: Path) -> None:
    main = tree_copy / "modules" / "mq" / "main.tf"
    main.write_text(
        main.read_text()
        + """
resource "aws_security_group" "debug" {
  name        = "debug"
  description = "debugging"
  vpc_id      = var.vpc_id

  ingress {
    description = "ssh"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""
    )
    failed = failed_checks(run_checkov(tools, tree_copy / "modules" / "mq"))
    assert any(f.startswith("CKV_AWS_24 aws_security_group.debug") for f in failed), failed


# ---------------------------------------------------------------------------- terraform itself


def test_terraform_fmt(tools: Tools) -> None:
    terraform = terraform_binary()
    if terraform is None:
        warnings.warn("terraform is not on PATH: `terraform fmt -check` did not run", stacklevel=1)
        return
    proc = tools.run([terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)])
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}"


def _init_and_validate(terraform: str, env_dir: Path, env: dict[str, str]) -> tuple[str, str]:
    init = subprocess.run(
        [
            terraform,
            "init",
            "-backend=false",
            "-input=false",
            "-no-color",
            f"-plugin-dir={PLUGIN_DIR}",
        ],
        cwd=env_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if init.returncode != 0:
        return env_dir.name, f"init failed:\n{init.stdout[-2000:]}{init.stderr[-2000:]}"
    validate = subprocess.run(
        [terraform, "validate", "-no-color"],
        cwd=env_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if validate.returncode != 0:
        return env_dir.name, f"validate failed:\n{validate.stdout}{validate.stderr}"
    return env_dir.name, ""


def test_terraform_validate_against_the_provider_schema(tools: Tools, tree_copy: Path) -> None:
    """Both envs, and through them every module, against the real AWS provider schema."""
    terraform = terraform_binary()
    if terraform is None or not any(PLUGIN_DIR.glob("*/hashicorp/aws/*")):
        warnings.warn(
            f"terraform or the provider mirror {PLUGIN_DIR} is missing: "
            "`terraform validate` did not run (terraform init needs the registry)",
            stacklevel=1,
        )
        return
    env = tools.env(TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_CLI_CONFIG_FILE=os.devnull)
    envs = [tree_copy / "envs" / "primary", tree_copy / "envs" / "secondary"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda d: _init_and_validate(terraform, d, env), envs))
    assert [r for r in results if r[1]] == []


def test_terraform_validate_catches_an_unknown_argument(tools: Tools, tree_copy: Path) -> None:
    terraform = terraform_binary()
    if terraform is None or not any(PLUGIN_DIR.glob("*/hashicorp/aws/*")):
        warnings.warn("terraform or its provider mirror is missing: not run", stacklevel=1)
        return
    edit(
        tree_copy / "modules" / "mq" / "main.tf",
        '  deployment_mode            = "ACTIVE_STANDBY_MULTI_AZ"',
        '  deployment_mode            = "ACTIVE_STANDBY_MULTI_AZ"\n  multi_region = true',
    )
    env = tools.env(TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1", TF_CLI_CONFIG_FILE=os.devnull)
    _, error = _init_and_validate(terraform, tree_copy / "envs" / "primary", env)
    assert 'An argument named "multi_region" is not expected here' in error, error
