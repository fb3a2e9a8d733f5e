"""The promises of terraform/ (issue 6), checked on its parsed HCL.

``check_promises(root, hcl2tojson)`` parses every ``*.tf`` under ``root`` with python-hcl2 (its
``hcl2tojson`` command from .tools/) and returns one line per broken promise; an empty list means
every promise holds. Tests call it on the real tree and on broken copies of it, so a promise that
stops being checked shows up as a test that no longer fails.

python-hcl2 (8.x) gives every block as a dict of lists: attribute values are wrapped in one-item
lists, expressions are strings such as ``"${var.azs}"``.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGIONS = {"primary": "us-east-1", "secondary": "us-west-2"}
MODULES = ("network", "eks", "mq", "database", "connectivity", "edge", "iam", "alarms")
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
WORLD = {"0.0.0.0/0", "::/0"}


@dataclass
class Dir:
    """The merged top-level blocks of one Terraform directory (a module or an env)."""

    path: str
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    files: set[str] = field(default_factory=set)

    def of_type(self, rtype: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for (t, name), body in self.resources.items():
            if t == rtype:
                yield name, body


def one(value: Any) -> Any:
    """Unwrap python-hcl2's one-item attribute lists."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def attr(body: dict[str, Any], name: str, default: Any = None) -> Any:
    return one(body[name]) if name in body else default


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = body.get(name, [])
    return [b for b in value if isinstance(b, dict)] if isinstance(value, list) else [value]


def parse_tree(root: Path, hcl2tojson: str) -> dict[str, Dir]:
    """Parse every .tf file under root; key: the directory relative to root ("modules/eks")."""
    dirs: dict[str, Dir] = {}
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            [hcl2tojson, str(root), out], capture_output=True, text=True, timeout=120, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"hcl2tojson failed on {root}:\n{proc.stderr}")
        for tf in sorted(root.rglob("*.tf")):
            if ".terraform" in tf.parts:
                continue
            rel = tf.relative_to(root)
            data = json.loads((Path(out) / rel.with_suffix(".json")).read_text())
            d = dirs.setdefault(str(rel.parent), Dir(path=str(rel.parent)))
            d.files.add(tf.name)
            for item in data.get("resource", []):
                for rtype, named in item.items():
                    for name, body in named.items():
                        d.resources[(rtype, name)] = body
            for item in data.get("variable", []):
                d.variables.update(item)
            for item in data.get("locals", []):
                d.locals.update({k: one(v) for k, v in item.items() if not k.startswith("__")})
            for item in data.get("module", []):
                d.modules.update(item)
            for item in data.get("provider", []):
                d.providers.update(item)
            d.terraform.extend(data.get("terraform", []))
    return dirs


def resolve(d: Dir, value: Any) -> Any:
    """Resolve a literal or a plain "${local.x}" reference; anything else comes back unchanged."""
    value = one(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\$\{local\.([A-Za-z0-9_]+)\}", value)
        if m and m.group(1) in d.locals:
            return resolve(d, d.locals[m.group(1)])
    return value


def is_true(value: Any) -> bool:
    return one(value) is True


# ---------------------------------------------------------------------------- the promises


def check_layout(dirs: dict[str, Dir]) -> list[str]:
    problems = []
    for module in MODULES:
        d = dirs.get(f"modules/{module}")
        if d is None:
            problems.append(f"modules/{module}: missing")
            continue
        for name in MODULE_FILES:
            if name not in d.files:
                problems.append(f"modules/{module}: no {name}")
    for env in REGIONS:
        if f"envs/{env}" not in dirs:
            problems.append(f"envs/{env}: missing")
    for d in dirs.values():
        for name, body in d.variables.items():
            if "type" not in body:
                problems.append(f"{d.path}: variable {name} has no type")
            if not attr(body, "description"):
                problems.append(f"{d.path}: variable {name} has no description")
    return problems


def check_regions(dirs: dict[str, Dir]) -> list[str]:
    problems = []
    for env, region in REGIONS.items():
        d = dirs.get(f"envs/{env}")
        if d is None:
            continue
        aws = d.providers.get("aws")
        got = resolve(d, aws.get("region")) if aws else None
        if got != region:
            problems.append(f"envs/{env}: aws provider region is {got!r}, expected {region}")
        for tf in d.terraform:
            for backend in blocks(tf, "backend"):
                s3 = backend.get("s3")
                if s3 and attr(s3, "region") != region:
                    problems.append(f"envs/{env}: state backend is not in {region}")
                if s3 and not is_true(s3.get("encrypt")):
                    problems.append(f"envs/{env}: state backend is not encrypted")
    return problems


def check_three_azs(dirs: dict[str, Dir]) -> list[str]:
    problems = []
    network = dirs.get("modules/network")
    if network is not None:
        azs_validations = blocks(network.variables.get("azs", {}), "validation")
        conditions = " ".join(str(attr(v, "condition")) for v in azs_validations)
        if "length(var.azs) == 3" not in conditions:
            problems.append("modules/network: variable azs does not require exactly three AZs")
        tiers = {}
        for name, body in network.of_type("aws_subnet"):
            tiers[name] = attr(body, "count")
        for tier in ("public", "private", "data"):
            if tier not in tiers:
                problems.append(f"modules/network: no {tier} subnets")
            elif tiers[tier] not in ("${local.az_count}", "${length(var.azs)}"):
                problems.append(f"modules/network: {tier} subnets are not one per AZ")
        if not any(attr(b, "traffic_type") == "ALL" for _, b in network.of_type("aws_flow_log")):
            problems.append("modules/network: no VPC flow log of ALL traffic")
    for env, region in REGIONS.items():
        d = dirs.get(f"envs/{env}")
        if d is None:
            continue
        call = d.modules.get("network", {})
        azs = resolve(d, call.get("azs"))
        if not (isinstance(azs, list) and len(set(azs)) == 3):
            problems.append(f"envs/{env}: network is not spread over three distinct AZs ({azs})")
        elif not all(isinstance(az, str) and az.startswith(region) for az in azs):
            problems.append(f"envs/{env}: AZs {azs} are not all in {region}")
    return problems


def check_nat_per_az(dirs: dict[str, Dir]) -> list[str]:
    network = dirs.get("modules/network")
    if network is None:
        return []
    problems = []
    per_az = ("${local.az_count}", "${length(var.azs)}")
    nats = dict(network.of_type("aws_nat_gateway"))
    if not nats:
        return ["modules/network: no NAT gateway"]
    for name, body in nats.items():
        if attr(body, "count") not in per_az:
            problems.append(f"modules/network: NAT gateway {name} is not one per AZ")
        if "[count.index]" not in str(attr(body, "subnet_id")):
            problems.append(f"modules/network: NAT gateway {name} is not placed one per AZ subnet")
    routes = [b for _, b in network.of_type("aws_route") if "nat_gateway_id" in b]
    if not routes or not all(
        attr(r, "count") in per_az and "[count.index]" in str(attr(r, "nat_gateway_id"))
        for r in routes
    ):
        problems.append("modules/network: private subnets do not each route through their AZ's NAT")
    return problems


# Data stores and how each one promises encryption at rest.
def _encrypted(rtype: str, body: dict[str, Any], d: Dir, name: str) -> str | None:
    """None when the resource is encrypted at rest, else the reason it is not."""
    if rtype in ("aws_rds_cluster", "aws_db_instance", "aws_docdb_cluster", "aws_neptune_cluster"):
        if not is_true(body.get("storage_encrypted")):
            return "storage_encrypted is not true"
        if not attr(body, "kms_key_id"):
            return "no customer-managed kms_key_id"
    elif rtype == "aws_rds_global_cluster":
        if not is_true(body.get("storage_encrypted")):
            return "storage_encrypted is not true"
    elif rtype == "aws_rds_cluster_instance":
        if is_true(body.get("performance_insights_enabled")) and not attr(
            body, "performance_insights_kms_key_id"
        ):
            return "Performance Insights without a KMS key"
    elif rtype == "aws_mq_broker":
        enc = blocks(body, "encryption_options")
        if not enc or attr(enc[0], "use_aws_owned_key", True) is not False:
            return "not encrypted with a customer-managed key"
        if not attr(enc[0], "kms_key_id"):
            return "no kms_key_id"
    elif rtype == "aws_s3_bucket":
        ref = f"${{aws_s3_bucket.{name}.id}}"
        if not any(
            attr(b, "bucket") == ref
            for _, b in d.of_type("aws_s3_bucket_server_side_encryption_configuration")
        ):
            return "no server-side encryption configuration"
    elif rtype in ("aws_cloudwatch_log_group", "aws_secretsmanager_secret"):
        if not attr(body, "kms_key_id"):
            return "no kms_key_id"
    elif rtype == "aws_backup_vault":
        if not attr(body, "kms_key_arn"):
            return "no kms_key_arn"
    elif rtype == "aws_eks_cluster":
        enc = blocks(body, "encryption_config")
        if not enc or "secrets" not in (attr(enc[0], "resources") or []):
            return "Kubernetes Secrets are not envelope-encrypted"
    elif rtype == "aws_launch_template":
        for bdm in blocks(body, "block_device_mappings"):
            for ebs in blocks(bdm, "ebs"):
                if not is_true(ebs.get("encrypted")):
                    return "an EBS volume is not encrypted"
    elif rtype in ("aws_ebs_volume", "aws_efs_file_system"):
        if not is_true(body.get("encrypted")):
            return "encrypted is not true"
    elif rtype == "aws_dynamodb_table":
        sse = blocks(body, "server_side_encryption")
        if not sse or not is_true(sse[0].get("enabled")):
            return "server_side_encryption is not enabled"
    elif rtype == "aws_elasticache_replication_group":
        if not is_true(body.get("at_rest_encryption_enabled")):
            return "at_rest_encryption_enabled is not true"
    elif rtype in ("aws_sqs_queue", "aws_sns_topic") and not attr(body, "kms_master_key_id"):
        return "no kms_master_key_id"
    return None


DATA_STORES = (
    "aws_rds_cluster",
    "aws_rds_global_cluster",
    "aws_rds_cluster_instance",
    "aws_db_instance",
    "aws_docdb_cluster",
    "aws_neptune_cluster",
    "aws_mq_broker",
    "aws_s3_bucket",
    "aws_cloudwatch_log_group",
    "aws_secretsmanager_secret",
    "aws_backup_vault",
    "aws_eks_cluster",
    "aws_launch_template",
    "aws_ebs_volume",
    "aws_efs_file_system",
    "aws_dynamodb_table",
    "aws_elasticache_replication_group",
    "aws_sqs_queue",
    "aws_sns_topic",
)


def check_encryption(dirs: dict[str, Dir]) -> list[str]:
    problems = []
    for d in dirs.values():
        for (rtype, name), body in d.resources.items():
            if rtype in DATA_STORES:
                reason = _encrypted(rtype, body, d, name)
                if reason:
                    problems.append(f"{d.path}: {rtype}.{name} not encrypted at rest: {reason}")
        for name, body in d.of_type("aws_kms_key"):
            if not is_true(body.get("enable_key_rotation")):
                problems.append(f"{d.path}: aws_kms_key.{name} has no key rotation")
    return problems


PROTECTION_FLAGS = {
    "aws_lb": "enable_deletion_protection",
    "aws_dynamodb_table": "deletion_protection_enabled",
}


def check_deletion_protection(dirs: dict[str, Dir]) -> list[str]:
    problems = []
    for d in dirs.values():
        for (rtype, name), body in d.resources.items():
            where = f"{d.path}: {rtype}.{name}"
            if rtype in ("aws_rds_cluster", "aws_rds_global_cluster", "aws_db_instance"):
                if not is_true(body.get("deletion_protection")):
                    problems.append(f"{where} has no deletion protection")
                if rtype != "aws_rds_global_cluster" and attr(body, "skip_final_snapshot") is True:
                    problems.append(f"{where} skips the final snapshot")
            elif rtype in PROTECTION_FLAGS and not is_true(body.get(PROTECTION_FLAGS[rtype])):
                problems.append(f"{where} has no deletion protection")
            elif rtype in ("aws_s3_bucket", "aws_backup_vault") and is_true(
                body.get("force_destroy")
            ):
                problems.append(f"{where} can be destroyed with its contents (force_destroy)")
            elif rtype == "aws_rds_cluster" and not attr(body, "backup_retention_period"):
                problems.append(f"{where} has no backup retention")
    return problems


def _cidr_vars(d: Dir, body: dict[str, Any], expr: str) -> list[str]:
    """Variables a CIDR expression comes from (directly or through for_each)."""
    names = re.findall(r"var\.([A-Za-z0-9_]+)", expr)
    if "each." in expr:
        names += re.findall(r"var\.([A-Za-z0-9_]+)", str(attr(body, "for_each", "")))
    return names


def _ingress_rules(d: Dir) -> Iterator[tuple[str, str, Any, Any, Any, list[str], dict, str]]:
    """(where, sg_ref, protocol, from, to, cidrs, body, kind) of every ingress rule of a dir."""
    for name, sg in d.of_type("aws_security_group"):
        for rule in blocks(sg, "ingress"):
            cidrs = (attr(rule, "cidr_blocks") or []) + (attr(rule, "ipv6_cidr_blocks") or [])
            yield (
                f"aws_security_group.{name}",
                f"${{aws_security_group.{name}.id}}",
                attr(rule, "protocol"),
                attr(rule, "from_port"),
                attr(rule, "to_port"),
                cidrs if isinstance(cidrs, list) else [cidrs],
                rule,
                "inline",
            )
    for name, rule in d.of_type("aws_security_group_rule"):
        if attr(rule, "type") != "ingress":
            continue
        cidrs = (attr(rule, "cidr_blocks") or []) + (attr(rule, "ipv6_cidr_blocks") or [])
        yield (
            f"aws_security_group_rule.{name}",
            attr(rule, "security_group_id"),
            attr(rule, "protocol"),
            attr(rule, "from_port"),
            attr(rule, "to_port"),
            cidrs if isinstance(cidrs, list) else [cidrs],
            rule,
            "rule",
        )
    for name, rule in d.of_type("aws_vpc_security_group_ingress_rule"):
        cidrs = [c for c in (attr(rule, "cidr_ipv4"), attr(rule, "cidr_ipv6")) if c]
        yield (
            f"aws_vpc_security_group_ingress_rule.{name}",
            attr(rule, "security_group_id"),
            attr(rule, "ip_protocol"),
            attr(rule, "from_port"),
            attr(rule, "to_port"),
            cidrs,
            rule,
            "rule",
        )


def _alb_security_groups(d: Dir) -> set[str]:
    groups: set[str] = set()
    for _, lb in d.of_type("aws_lb"):
        if attr(lb, "load_balancer_type", "application") == "application" and not is_true(
            lb.get("internal")
        ):
            groups.update(str(g) for g in (attr(lb, "security_groups") or []))
    return groups


def check_ingress(dirs: dict[str, Dir]) -> list[str]:
    """No ingress from 0.0.0.0/0 (or ::/0) except TCP 443 to a public ALB; CIDRs that come in
    through variables must be validated against 0.0.0.0/0."""
    problems = []
    for d in dirs.values():
        albs = _alb_security_groups(d)
        for where, sg_ref, protocol, from_port, to_port, cidrs, body, _ in _ingress_rules(d):
            for cidr in cidrs:
                cidr = str(cidr)
                if cidr in WORLD:
                    allowed = (
                        sg_ref in albs
                        and str(protocol) in ("tcp", "6")
                        and from_port == 443
                        and to_port == 443
                    )
                    if not allowed:
                        problems.append(
                            f"{d.path}: {where} opens {protocol} {from_port}-{to_port} to {cidr} "
                            "(only TCP 443 on the public ALB may be open to the internet)"
                        )
                elif "${" in cidr:
                    for var in _cidr_vars(d, body, cidr):
                        conditions = " ".join(
                            str(attr(v, "condition"))
                            for v in blocks(d.variables.get(var, {}), "validation")
                        )
                        if "0.0.0.0/0" not in conditions:
                            problems.append(
                                f"{d.path}: {where} takes CIDRs from var.{var}, whose validation "
                                "does not rule out 0.0.0.0/0"
                            )
        for name, sg in d.of_type("aws_default_security_group"):
            if blocks(sg, "ingress"):
                problems.append(f"{d.path}: aws_default_security_group.{name} allows ingress")
    return problems


def check_data_tier(dirs: dict[str, Dir]) -> list[str]:
    """Aurora global database across the two regions, Amazon MQ active/standby, EKS private."""
    problems = []
    db = dirs.get("modules/database")
    if db is not None:
        if not dict(db.of_type("aws_rds_global_cluster")):
            problems.append("modules/database: no aws_rds_global_cluster")
        for name, body in db.of_type("aws_rds_cluster"):
            if not attr(body, "global_cluster_identifier"):
                problems.append(f"modules/database: aws_rds_cluster.{name} is not in the global DB")
            if attr(body, "engine") not in ("aurora-postgresql", "${local.engine}"):
                problems.append(f"modules/database: aws_rds_cluster.{name} is not Aurora Postgres")
    roles, identifiers = {}, {}
    for env in REGIONS:
        d = dirs.get(f"envs/{env}")
        if d is None:
            continue
        call = d.modules.get("database", {})
        roles[env] = resolve(d, call.get("role"))
        identifiers[env] = resolve(d, call.get("global_cluster_identifier"))
    if roles and roles != {"primary": "primary", "secondary": "secondary"}:
        problems.append(f"envs: database roles are {roles}, expected the writer in primary")
    if len(set(map(str, identifiers.values()))) != 1:
        problems.append(f"envs: the two regions join different global databases {identifiers}")
    mq = dirs.get("modules/mq")
    if mq is not None:
        for name, body in mq.of_type("aws_mq_broker"):
            if attr(body, "deployment_mode") != "ACTIVE_STANDBY_MULTI_AZ":
                problems.append(f"modules/mq: aws_mq_broker.{name} is not ACTIVE_STANDBY_MULTI_AZ")
            if attr(body, "engine_type") != "ActiveMQ":
                problems.append(f"modules/mq: aws_mq_broker.{name} is not ActiveMQ")
            if attr(body, "publicly_accessible") is not False:
                problems.append(f"modules/mq: aws_mq_broker.{name} may be publicly accessible")
    eks = dirs.get("modules/eks")
    if eks is not None:
        for name, body in eks.of_type("aws_eks_node_group"):
            if attr(body, "subnet_ids") != "${var.private_subnet_ids}":
                problems.append(f"modules/eks: node group {name} is not in the private subnets")
        for name, body in eks.of_type("aws_eks_cluster"):
            logs = str(attr(body, "enabled_cluster_log_types"))
            if "var.cluster_log_types" not in logs and "audit" not in logs:
                problems.append(f"modules/eks: {name} sends no control-plane logs")
        if not dict(eks.of_type("aws_iam_openid_connect_provider")):
            problems.append("modules/eks: no OIDC provider (IRSA)")
    for env in REGIONS:
        d = dirs.get(f"envs/{env}")
        if d is not None:
            subnets = str(d.modules.get("eks", {}).get("private_subnet_ids"))
            if "private_subnet_ids" not in subnets:
                problems.append(f"envs/{env}: EKS is not given the private subnets")
    return problems


VOP_RESPONDER_PATH = "/v1/vop/payee-verifications"
"""The Verification of Payee responder's paths (their own WAF rate limit per IP)."""


def path_match_problems(match: dict[str, Any]) -> list[str]:
    """A prefix match on the URI path must see the path as Envoy routes it (percent-decoded,
    then normalised: no dot segments), or ``/v1/vop/payee-verifications/../../accounts/X``
    (Envoy: ``/v1/accounts/X``) counts against the VoP limit instead of the general one."""
    if attr(match, "positional_constraint") == "EXACTLY":
        return []  # no other path equals it, dot segments or not
    steps = sorted(
        (int(attr(tt, "priority", 0)), str(attr(tt, "type")))
        for tt in blocks(match, "text_transformation")
    )
    kinds = [kind for _, kind in steps]
    if "NORMALIZE_PATH" not in kinds and "NORMALIZE_PATH_WIN" not in kinds:
        return ["does not normalise the path (text_transformation NORMALIZE_PATH)"]
    normalise = next(i for i, k in enumerate(kinds) if k.startswith("NORMALIZE_PATH"))
    if "URL_DECODE" not in kinds[:normalise]:
        return ["does not percent-decode the path before normalising it (URL_DECODE first)"]
    return []


def check_edge_and_connectivity(dirs: dict[str, Dir]) -> list[str]:
    problems = []
    edge = dirs.get("modules/edge")
    if edge is not None:
        acls = dict(edge.of_type("aws_wafv2_web_acl"))
        managed = {
            attr(m, "name")
            for acl in acls.values()
            for rule in blocks(acl, "rule")
            for st in blocks(rule, "statement")
            for m in blocks(st, "managed_rule_group_statement")
        }
        for group in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
            if group not in managed:
                problems.append(f"modules/edge: WAF lacks the managed rule group {group}")
        scopes = [
            scope
            for acl in acls.values()
            for rule in blocks(acl, "rule")
            for st in blocks(rule, "statement")
            for rate in blocks(st, "rate_based_statement")
            for scope in blocks(rate, "scope_down_statement")
        ]
        vop_limited = [
            match
            for scope in scopes
            for match in blocks(scope, "byte_match_statement")
            if attr(match, "search_string") == VOP_RESPONDER_PATH
        ]
        if not vop_limited:
            problems.append(
                f"modules/edge: WAF has no rate-based rule scoped to {VOP_RESPONDER_PATH}"
            )
        negated = [
            match
            for scope in scopes
            for ns in blocks(scope, "not_statement")
            for st in blocks(ns, "statement")
            for match in blocks(st, "byte_match_statement")
        ]
        problems += [
            f"modules/edge: WAF match on {attr(match, 'search_string')} {problem}"
            for match in vop_limited + negated
            if str(attr(match, "search_string", "")).startswith("/v1/vop/")
            for problem in path_match_problems(match)
        ]
        if not dict(edge.of_type("aws_wafv2_web_acl_association")):
            problems.append("modules/edge: the WAF web ACL is not associated with the ALB")
        for name, body in edge.of_type("aws_lb_listener"):
            if attr(body, "protocol") != "HTTPS" or attr(body, "port") != 443:
                problems.append(f"modules/edge: listener {name} is not HTTPS on 443")
    conn = dirs.get("modules/connectivity")
    if conn is not None:
        conditions = " ".join(
            str(attr(v, "condition"))
            for v in blocks(conn.variables.get("dx_connections", {}), "validation")
        )
        if ">= 2" not in conditions:
            problems.append("modules/connectivity: fewer than two Direct Connect links allowed")
        if not dict(conn.of_type("aws_dx_gateway_association")):
            problems.append("modules/connectivity: DX gateway not associated with a gateway")
        if not dict(conn.of_type("aws_ec2_transit_gateway_vpc_attachment")):
            problems.append("modules/connectivity: no transit gateway attachment")
    for env in REGIONS:
        d = dirs.get(f"envs/{env}")
        if d is not None:
            for module in MODULES:
                if module not in d.modules:
                    problems.append(f"envs/{env}: module {module} is not used")
    return problems


# What the CloudWatch alarms of modules/alarms must watch (issue 19): Aurora replica lag, the
# global database's replication lag (the RPO), the broker's queues, each Direct Connect link.
ALARMED_METRICS = (
    "AuroraReplicaLag",
    "AuroraGlobalDBReplicationLag",
    "QueueSize",
    "ConnectionState",
)


def check_alarms(dirs: dict[str, Dir]) -> list[str]:
    problems = []
    alarms = dirs.get("modules/alarms")
    if alarms is None:
        return problems  # check_layout reports the missing module
    watched = json.dumps(dict(alarms.of_type("aws_cloudwatch_metric_alarm")))
    for metric in ALARMED_METRICS:
        if metric not in watched:
            problems.append(f"modules/alarms: no alarm on {metric}")
    for name, body in alarms.of_type("aws_cloudwatch_metric_alarm"):
        if "aws_sns_topic" not in json.dumps(body.get("alarm_actions")):
            problems.append(f"modules/alarms: alarm {name} notifies nobody")
    secondary = dirs.get("envs/secondary")
    module = secondary.modules.get("alarms") if secondary else None
    if module is not None and not is_true(attr(module, "db_is_global_secondary")):
        problems.append("envs/secondary: no alarm on the global database's replication lag")
    return problems


CHECKS = (
    check_layout,
    check_regions,
    check_three_azs,
    check_nat_per_az,
    check_encryption,
    check_deletion_protection,
    check_ingress,
    check_data_tier,
    check_edge_and_connectivity,
    check_alarms,
)


def check_promises(root: Path, hcl2tojson: str) -> list[str]:
    dirs = parse_tree(root, hcl2tojson)
    return [problem for check in CHECKS for problem in check(dirs)]
