"""deploy/helm/backoffice-ledger: lint, render, schema-validate, scan, and what it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.runtime.settings import Settings
from tests.infra.tools import (
    ALL_ROLES_VALUES,
    CHART,
    ENVOY_DIR,
    KUBERNETES_VERSION,
    NAMESPACE,
    RELEASE,
    ROLES,
    Tools,
    by_kind,
    checkov_json,
    failed_checks,
)

DEFAULT_ROLES = ROLES  # every role runs with the defaults


def lint(tools: Tools, *values: Path, sets: tuple[str, ...] = ()) -> tuple[int, str]:
    args = [tools.path("helm"), "lint", "--strict", str(CHART)]
    for file in values:
        args += ["--values", str(file)]
    for item in sets:
        args += ["--set", item]
    proc = tools.run(args)
    return proc.returncode, proc.stdout + proc.stderr


def kubernetes_validate(tools: Tools, manifests: str, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "manifests.yaml"
    path.write_text(manifests)
    proc = tools.run(
        [
            tools.path("kubernetes-validate"),
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            str(path),
        ]
    )
    return proc.returncode, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------- lint and schemas


@pytest.mark.parametrize("values", [(), (ALL_ROLES_VALUES,)], ids=["defaults", "all-roles"])
def test_helm_lint_strict(tools: Tools, values: tuple[Path, ...]) -> None:
    code, output = lint(tools, *values)
    assert code == 0, output


@pytest.mark.parametrize("values", [(), (ALL_ROLES_VALUES,)], ids=["defaults", "all-roles"])
def test_rendered_manifests_match_the_kubernetes_schemas(
    tools: Tools, values: tuple[Path, ...], tmp_path: Path
) -> None:
    proc = tools.helm_template(*values)
    assert proc.returncode == 0, proc.stderr
    code, output = kubernetes_validate(tools, proc.stdout, tmp_path)
    assert code == 0, output
    # Everything but the ServiceMonitor and PrometheusRule (CRDs) was checked against a schema.
    unchecked = [line for line in output.splitlines() if "Couldn't find schema" in line]
    crds = ("ServiceMonitor", "PrometheusRule")
    assert all(any(crd in line for crd in crds) for line in unchecked), unchecked


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (("roleDefaults.replicaCount=three",), "/roleDefaults/replicaCount"),
        (("roles.api.probes.liveness.path=healthz",), "/roles/api/probes/liveness/path"),
        (("roles.api.autoscaling.minReplicas=0",), "/roles/api/autoscaling/minReplicas"),
        (("roles.billing.enabled=true",), "billing"),
        (("secrets.existingSecret=",), "/secrets/existingSecret"),
        (("containerSecurityContext.readOnlyRootFilesystem=false",), "readOnlyRootFilesystem"),
        (("config.auth.maxTokenLifetimeMinutes=0",), "/config/auth/maxTokenLifetimeMinutes"),
        (("config.auth.maxTokenLifetimeMinutes=10081",), "/config/auth/maxTokenLifetimeMinutes"),
    ],
    ids=[
        "replicas-not-a-number",
        "probe-path",
        "zero-replicas",
        "unknown-role",
        "no-secret",
        "rw",
        "zero-token-lifetime",
        "token-lifetime-above-a-week",
    ],
)
def test_broken_values_fail_lint(tools: Tools, sets: tuple[str, ...], message: str) -> None:
    code, output = lint(tools, sets=sets)
    assert code != 0, output
    assert message in output, output


def test_broken_values_file_fails_lint_and_template(tools: Tools, tmp_path: Path) -> None:
    broken = tmp_path / "broken-values.yaml"
    broken.write_text('roleDefaults:\n  replicaCount: "three"\n')
    code, output = lint(tools, broken)
    assert code != 0 and "got string, want integer" in output, output
    assert tools.helm_template(broken).returncode != 0


def test_min_above_max_replicas_fails_rendering(tools: Tools) -> None:
    proc = tools.helm_template(
        sets=["roles.api.autoscaling.minReplicas=5", "roles.api.autoscaling.maxReplicas=4"]
    )
    assert proc.returncode != 0
    assert "minReplicas (5) is greater than maxReplicas (4)" in proc.stderr


def test_kubernetes_validate_rejects_an_invalid_manifest(tools: Tools, tmp_path: Path) -> None:
    proc = tools.helm_template()
    broken = proc.stdout.replace("containerPort: 8000", "containerPort: eight-thousand", 1)
    broken = broken.replace("      containers:\n", "      containerz: []\n      containers:\n", 1)
    code, output = kubernetes_validate(tools, broken, tmp_path)
    assert code != 0, output


# ---------------------------------------------------------------------------- checkov


def test_checkov_passes_on_the_chart(tools: Tools) -> None:
    """All roles enabled (ci/all-roles-values.yaml); helm must be on PATH or checkov skips
    the chart silently, so the test also asserts that the workloads were scanned."""
    proc = tools.run(
        [
            tools.path("checkov"),
            "--directory",
            str(CHART.parent),
            "--framework",
            "helm",
            "--skip-download",
            "--var-file",
            str(ALL_ROLES_VALUES),
            "--output",
            "json",
        ],
        # helm template renders .Release.Namespace as this namespace.
        env=tools.env(HELM_NAMESPACE=NAMESPACE),
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    reports = checkov_json(proc)
    scanned = {
        c["resource"]
        for r in reports
        for c in r["results"]["passed_checks"] + r["results"]["failed_checks"]
    }
    for role in ROLES:
        assert f"Deployment.{NAMESPACE}.release-name-backoffice-ledger-{role}" in scanned
    assert f"CronJob.{NAMESPACE}.release-name-backoffice-ledger-approvals-expiry" in scanned
    assert failed_checks(reports) == []
    for report in reports:
        for skipped in report["results"]["skipped_checks"]:
            reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) > 20, f"{skipped['check_id']} skipped without a reason"


# ---------------------------------------------------------------------------- what it renders


def role_of(manifest: dict) -> str:
    return manifest["metadata"]["labels"]["app.kubernetes.io/component"]


def test_defaults_render_every_role(default_manifests: list[dict]) -> None:
    deployments = by_kind(default_manifests, "Deployment")
    assert sorted(role_of(d) for d in deployments.values()) == sorted(DEFAULT_ROLES)
    assert "ServiceMonitor" not in {m["kind"] for m in default_manifests}


def test_one_of_each_per_role(all_roles_manifests: list[dict]) -> None:
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        objects = by_kind(all_roles_manifests, kind)
        assert sorted(role_of(o) for o in objects.values()) == sorted(ROLES), kind
    policies = by_kind(all_roles_manifests, "NetworkPolicy")
    assert {f"{RELEASE}-{r}" for r in ROLES} <= set(policies)


def test_each_deployment_runs_its_role_securely(all_roles_manifests: list[dict]) -> None:
    for name, deployment in by_kind(all_roles_manifests, "Deployment").items():
        role = role_of(deployment)
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"][:2] == ["--role", role], name
        if role in ("api", "vop"):
            assert "replicas" not in deployment["spec"], f"{name}: the HPA owns the count"
        else:
            assert deployment["spec"]["replicas"] == 2, f"{name}: one working, one standby"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        zones = [
            c
            for c in pod["topologySpreadConstraints"]
            if c["topologyKey"] == "topology.kubernetes.io/zone"
        ]
        assert zones and zones[0]["maxSkew"] == 1
        assert container["resources"]["limits"] and container["resources"]["requests"]
        # Config from the ConfigMap, secrets from the existing Secret only.
        assert container["envFrom"] == [{"configMapRef": {"name": RELEASE}}]
        secret_refs = [
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})
        ]
        assert secret_refs and set(secret_refs) == {"backoffice-ledger"}


def test_only_the_measured_roles_autoscale(all_roles_manifests: list[dict]) -> None:
    """Only the api and the vop responder were measured to gain from a second process
    (docs/operations.md §7: api 1.42x where a core was free; vop: benchmarks.vop_http,
    docs/capacity.md; ingestion, partitioned, 0.95x to 0.97x on 2 cores; the others
    leader-elected or repeating one another's work): they alone get an HPA, the vop's 3-100 as
    seed 003 says; every role keeps a PDB that lets a drain take one pod."""
    hpas = by_kind(all_roles_manifests, "HorizontalPodAutoscaler")
    assert [role_of(h) for h in hpas.values()] == ["api", "vop"]
    bounds = {"api": (2, 6), "vop": (3, 100)}
    for name, hpa in hpas.items():
        spec = hpa["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == bounds[role_of(hpa)], name
        targets = {
            m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
            for m in spec["metrics"]
        }
        assert targets == {"cpu": 70, "memory": 80}, name
        assert spec["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 30
        assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
    for name, pdb in by_kind(all_roles_manifests, "PodDisruptionBudget").items():
        assert pdb["spec"]["maxUnavailable"] == 1, name


VOP_BASELINE_MIB = 133
"""RSS of a bare ``ledger serve --role vop`` process (docs/capacity.md §6)."""
VOP_BYTES_PER_CACHED_ACCOUNT = 650


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    return float(quantity[:-2]) * units[quantity[-2:]]


def test_the_vop_memory_request_fits_its_directory_cache(all_roles_manifests: list[dict]) -> None:
    """values.yaml's sizing rule: the memory request holds the bare process and the cache at
    the HPA's memory target (request >= (baseline + size x ~650 B) / target)."""
    from api.runtime.settings.vop import DEFAULT_CACHE_SIZE

    (deployment,) = [
        d for d in by_kind(all_roles_manifests, "Deployment").values() if role_of(d) == "vop"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    size = int(env["LEDGER_VOP_DIRECTORY_CACHE_SIZE"])
    assert size == DEFAULT_CACHE_SIZE  # the chart states the setting's default beside its memory
    (hpa,) = [
        h
        for h in by_kind(all_roles_manifests, "HorizontalPodAutoscaler").values()
        if role_of(h) == "vop"
    ]
    (memory,) = [m for m in hpa["spec"]["metrics"] if m["resource"]["name"] == "memory"]
    target = memory["resource"]["target"]["averageUtilization"] / 100
    needed = (VOP_BASELINE_MIB + size * VOP_BYTES_PER_CACHED_ACCOUNT / 2**20) / target
    resources = container["resources"]
    assert mebibytes(resources["requests"]["memory"]) >= needed
    assert mebibytes(resources["limits"]["memory"]) >= mebibytes(resources["requests"]["memory"])


def test_without_its_hpa_the_api_runs_a_fixed_count(tools: Tools, tmp_path: Path) -> None:
    proc = tools.helm_template(
        ALL_ROLES_VALUES,
        sets=["roles.api.autoscaling.enabled=false", "roles.vop.autoscaling.enabled=false"],
    )
    assert proc.returncode == 0, proc.stderr
    code, output = kubernetes_validate(tools, proc.stdout, tmp_path)
    assert code == 0, output
    manifests = tools.yaml_to_json(proc.stdout)
    assert by_kind(manifests, "HorizontalPodAutoscaler") == {}
    for name, deployment in by_kind(manifests, "Deployment").items():
        assert deployment["spec"]["replicas"] == 2, name


def _ports(rule: dict) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


def test_network_policies_deny_by_default_and_allow_what_each_role_needs(
    all_roles_manifests: list[dict],
) -> None:
    policies = by_kind(all_roles_manifests, "NetworkPolicy")
    deny = policies[f"{RELEASE}-default-deny"]["spec"]
    assert deny["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "backoffice-ledger",
        "app.kubernetes.io/instance": RELEASE,
    }
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny and "egress" not in deny
    for role in ROLES:
        spec = policies[f"{RELEASE}-{role}"]["spec"]
        egress_ports = [_ports(rule) for rule in spec["egress"]]
        assert {53} in egress_ports, f"{role}: no DNS"
        assert {5432} in egress_ports, f"{role}: no PostgreSQL"
        assert ({61614} in egress_ports) == (role in ("ingestion", "notifications")), role
        from_edge = [
            rule
            for rule in spec["ingress"]
            if any("podSelector" in f and "namespaceSelector" in f for f in rule["from"])
            and any(
                f.get("namespaceSelector", {}).get("matchLabels")
                == {"kubernetes.io/metadata.name": "edge"}
                for f in rule["from"]
            )
        ]
        assert bool(from_edge) == (role in ("api", "vop")), role


def test_service_account_carries_the_irsa_role(all_roles_manifests: list[dict]) -> None:
    accounts = by_kind(all_roles_manifests, "ServiceAccount")
    for name in (RELEASE, f"{RELEASE}-migrate"):
        annotations = accounts[name]["metadata"]["annotations"]
        assert annotations["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::"), name


def test_migration_job_is_a_pre_install_and_pre_upgrade_hook(
    all_roles_manifests: list[dict],
) -> None:
    job = by_kind(all_roles_manifests, "Job")[f"{RELEASE}-migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["ledger", "migrate"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    env = {e["name"] for e in container["env"]}
    assert {"LEDGER_DATABASE_URL", "LEDGER_ENV", "LEDGER_HOST"} <= env


def test_service_monitor_scrapes_every_role(all_roles_manifests: list[dict]) -> None:
    (monitor,) = by_kind(all_roles_manifests, "ServiceMonitor").values()
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    services = by_kind(all_roles_manifests, "Service").values()
    selector = monitor["spec"]["selector"]["matchLabels"]
    for service in services:
        assert selector.items() <= service["metadata"]["labels"].items()


# ---------------------------------------------------------------------------- approvals expiry

EXPIRY = f"{RELEASE}-approvals-expiry"


def test_approvals_expiry_cronjob_runs_the_command_securely(
    default_manifests: list[dict],
) -> None:
    """`ledger approvals expire` on a schedule, configured like every role, never overlapping."""
    cronjob = by_kind(default_manifests, "CronJob")[EXPIRY]
    assert cronjob["apiVersion"] == "batch/v1"
    spec = cronjob["spec"]
    assert spec["schedule"] == "*/15 * * * *"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 0 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] >= 0 and job["activeDeadlineSeconds"] > 0
    pod = job["template"]["spec"]
    assert job["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == (
        "approvals-expiry"
    )
    assert pod["restartPolicy"] == "Never"
    assert pod["serviceAccountName"] == RELEASE
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["command"] == ["ledger", "approvals", "expire"]
    assert container["image"] == "backoffice-ledger:0.1.0"
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/var/lib/ledger"]]
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert container["resources"]["limits"] and container["resources"]["requests"]
    # Config from the release's ConfigMap, secrets from the existing Secret only.
    assert container["envFrom"] == [{"configMapRef": {"name": RELEASE}}]
    assert RELEASE in by_kind(default_manifests, "ConfigMap")
    secrets = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert secrets["LEDGER_DATABASE_URL"] == "backoffice-ledger"
    assert set(secrets.values()) == {"backoffice-ledger"}
    assert all("value" not in e for e in container["env"]), "no inline values: ConfigMap only"


def test_approvals_expiry_may_reach_only_dns_and_the_database(
    default_manifests: list[dict],
) -> None:
    policy = by_kind(default_manifests, "NetworkPolicy")[EXPIRY]["spec"]
    pod_labels = by_kind(default_manifests, "CronJob")[EXPIRY]["spec"]["jobTemplate"]["spec"][
        "template"
    ]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy, "nothing calls the CronJob's pods"
    assert [_ports(rule) for rule in policy["egress"]] == [{53}, {5432}]
    dns, database = policy["egress"]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert database["to"] == [{"ipBlock": {"cidr": "10.0.0.0/8"}}]
    # No other policy selects the CronJob's pods but the release-wide deny.
    for name, other in by_kind(default_manifests, "NetworkPolicy").items():
        if name in (EXPIRY, f"{RELEASE}-default-deny"):
            continue
        assert not other["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items(), name


def test_approvals_expiry_can_be_disabled(tools: Tools) -> None:
    manifests = tools.render(sets=["approvalsExpiry.enabled=false"])
    assert "CronJob" not in {m["kind"] for m in manifests}
    assert EXPIRY not in by_kind(manifests, "NetworkPolicy")


def test_approvals_expiry_schedule_follows_the_values(tools: Tools) -> None:
    manifests = tools.render(sets=["approvalsExpiry.schedule=0 * * * *"])
    assert by_kind(manifests, "CronJob")[EXPIRY]["spec"]["schedule"] == "0 * * * *"


@pytest.mark.parametrize("schedule", ['""', '" "'], ids=["empty", "blank"])
def test_an_empty_approvals_expiry_schedule_fails_schema_validation(
    tools: Tools, tmp_path: Path, schedule: str
) -> None:
    path = tmp_path / "no-schedule-values.yaml"
    path.write_text(f"approvalsExpiry:\n  schedule: {schedule}\n")
    code, output = lint(tools, path)
    assert code != 0 and "/approvalsExpiry/schedule" in output, output
    proc = tools.helm_template(path)
    assert proc.returncode != 0 and "/approvalsExpiry/schedule" in proc.stderr, proc.stderr


# ---------------------------------------------------------------------------- authentication

ENVOY_PROD = ENVOY_DIR / "envoy.yaml"


def config_map(manifests: list[dict]) -> dict[str, str]:
    return by_kind(manifests, "ConfigMap")[RELEASE]["data"]


def envoy_provider(tools: Tools) -> dict:
    (config,) = tools.yaml_to_json(ENVOY_PROD.read_text())
    (listener,) = config["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    filters = chain["filters"][0]["typed_config"]["http_filters"]
    (jwt,) = [f for f in filters if f["name"] == "envoy.filters.http.jwt_authn"]
    return jwt["typed_config"]["providers"]["backoffice_idp"]


def test_default_auth_settings_match_the_envoy_provider(
    tools: Tools, default_manifests: list[dict]
) -> None:
    """The api verifies tokens again behind Envoy: the same issuer, audience and JWKS."""
    data = config_map(default_manifests)
    provider = envoy_provider(tools)
    assert data["LEDGER_ENV"] == "production"
    assert data["LEDGER_AUTH_ISSUER"] == provider["issuer"]
    assert [data["LEDGER_AUTH_AUDIENCE"]] == provider["audiences"]
    assert data["LEDGER_AUTH_JWKS_URL"] == provider["remote_jwks"]["http_uri"]["uri"]
    assert data["LEDGER_AUTH_ALGORITHMS"] == "RS256,ES256"
    assert data["LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES"] == "60"  # the ledger's production cap
    assert data["LEDGER_METRICS_PUBLIC"] == "true"


def test_config_map_carries_the_auth_settings_from_values(tools: Tools) -> None:
    issuer = "https://login.bank.test/realms/ops"
    jwks = "https://login.bank.test/realms/ops/protocol/openid-connect/certs"
    manifests = tools.render(
        sets=[
            f"config.auth.issuer={issuer}",
            f"config.auth.jwksUrl={jwks}",
            "config.auth.audience=ledger-prod",
            "config.auth.algorithms={ES256}",
            "config.auth.leewaySeconds=10",
            "config.auth.maxTokenLifetimeMinutes=15",
            "config.metricsPublic=false",
        ]
    )
    data = config_map(manifests)
    assert data["LEDGER_AUTH_ISSUER"] == issuer
    assert data["LEDGER_AUTH_JWKS_URL"] == jwks
    assert data["LEDGER_AUTH_AUDIENCE"] == "ledger-prod"
    assert data["LEDGER_AUTH_ALGORITHMS"] == "ES256"
    assert data["LEDGER_AUTH_LEEWAY_SECONDS"] == "10"
    assert data["LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES"] == "15"
    assert data["LEDGER_METRICS_PUBLIC"] == "false"
    # `ledger migrate` reads the same settings (and refuses production without them).
    job = by_kind(manifests, "Job")[f"{RELEASE}-migrate"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["LEDGER_AUTH_ISSUER"] == issuer
    assert env["LEDGER_AUTH_JWKS_URL"] == jwks
    assert env["LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES"] == "15"


def test_the_ledger_accepts_the_rendered_token_lifetime(tools: Tools, tmp_path: Path) -> None:
    """The ConfigMap's LEDGER_AUTH_* as the ledger's own settings read them; null leaves the
    variable out, so the ledger's default applies (60 minutes in production)."""
    data = config_map(tools.render(sets=["config.auth.maxTokenLifetimeMinutes=45"]))
    settings = Settings.from_env({**data, "LEDGER_DATA_DIR": str(tmp_path)})
    assert settings.auth.max_token_lifetime_minutes == 45
    unset = config_map(tools.render(sets=["config.auth.maxTokenLifetimeMinutes=null"]))
    assert "LEDGER_AUTH_MAX_TOKEN_LIFETIME_MINUTES" not in unset
    settings = Settings.from_env({**unset, "LEDGER_DATA_DIR": str(tmp_path)})
    assert settings.auth.max_token_lifetime_minutes == 60


def test_development_without_an_identity_provider_renders(tools: Tools) -> None:
    """The production check is conditional: development may use the local issuer."""
    manifests = tools.render(
        sets=["config.env=development", "config.auth.issuer=", "config.auth.jwksUrl="]
    )
    data = config_map(manifests)
    assert "LEDGER_AUTH_ISSUER" not in data and "LEDGER_AUTH_JWKS_URL" not in data
    policy = by_kind(manifests, "NetworkPolicy")[f"{RELEASE}-api"]["spec"]
    assert {443} not in [_ports(rule) for rule in policy["egress"]], "no JWKS: no IdP egress"


PRODUCTION_WITHOUT_IDP = {
    "no-issuer": (
        'config:\n  env: production\n  auth:\n    issuer: ""\n',
        "/config/auth/issuer",
        "config.auth.issuer is empty",
    ),
    "no-jwks-url": (
        'config:\n  env: production\n  auth:\n    jwksUrl: ""\n',
        "/config/auth/jwksUrl",
        "config.auth.jwksUrl is empty",
    ),
    "neither": (
        'config:\n  env: production\n  auth:\n    issuer: ""\n    jwksUrl: ""\n',
        "/config/auth/issuer",
        "config.auth.issuer is empty",
    ),
    "issuer-removed": (
        "config:\n  env: production\n  auth:\n    issuer: null\n",
        "issuer",
        "config.auth.issuer is empty",
    ),
    "plain-http-jwks": (
        "config:\n  env: production\n  auth:\n    jwksUrl: http://idp.example.com/certs\n",
        "/config/auth/jwksUrl",
        "must be an https URL",
    ),
}


@pytest.mark.parametrize(
    ("values", "schema_message", "template_message"),
    PRODUCTION_WITHOUT_IDP.values(),
    ids=PRODUCTION_WITHOUT_IDP.keys(),
)
def test_production_values_without_an_identity_provider_fail(
    tools: Tools, tmp_path: Path, values: str, schema_message: str, template_message: str
) -> None:
    """The ledger refuses to start like this; the chart refuses to render it, twice over."""
    path = tmp_path / "production-values.yaml"
    path.write_text(values)
    code, output = lint(tools, path)
    assert code != 0 and schema_message in output, output
    proc = tools.helm_template(path)
    assert proc.returncode != 0 and schema_message in proc.stderr, proc.stderr
    # The template check holds even when the schema is skipped.
    proc = tools.run(
        [
            tools.path("helm"), "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
            "--values", str(path), "--skip-schema-validation",
        ]
    )  # fmt: skip
    assert proc.returncode != 0 and template_message in proc.stderr, proc.stderr


def test_env_must_be_one_the_ledger_knows(tools: Tools) -> None:
    """Only development and production: "Production" would slip past the production check."""
    code, output = lint(tools, sets=("config.env=Production",))
    assert code != 0 and "/config/env" in output, output


def idp_rule(except_: list[str]) -> dict:
    return {
        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": except_}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }


def test_roles_behind_the_edge_may_reach_the_jwks_endpoint(
    all_roles_manifests: list[dict],
) -> None:
    policies = by_kind(all_roles_manifests, "NetworkPolicy")
    expected = idp_rule(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"])
    for role in ROLES:
        egress = policies[f"{RELEASE}-{role}"]["spec"]["egress"]
        assert (expected in egress) == (role in ("api", "vop")), role
    # Nothing behind the edge but the api and the vop responder; the migration Job verifies no
    # tokens.
    migrate = policies[f"{RELEASE}-migrate"]["spec"]["egress"]
    assert {443} not in [_ports(rule) for rule in migrate]


def test_idp_egress_follows_the_values(tools: Tools) -> None:
    manifests = tools.render(
        sets=["networkPolicy.idp.cidrs={203.0.113.0/24}", "networkPolicy.idp.port=8443"]
    )
    egress = by_kind(manifests, "NetworkPolicy")[f"{RELEASE}-api"]["spec"]["egress"]
    assert {
        "to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}],
        "ports": [{"protocol": "TCP", "port": 8443}],
    } in egress


def test_restricted_metrics_need_a_bearer_token_for_the_service_monitor(tools: Tools) -> None:
    restricted = ("config.metricsPublic=false", "metrics.serviceMonitor.enabled=true")
    proc = tools.helm_template(sets=restricted)
    assert proc.returncode != 0
    assert "metrics.serviceMonitor.bearerTokenSecret.name" in proc.stderr, proc.stderr
    manifests = tools.render(
        sets=[*restricted, "metrics.serviceMonitor.bearerTokenSecret.name=prometheus-ledger"]
    )
    (monitor,) = by_kind(manifests, "ServiceMonitor").values()
    assert monitor["spec"]["endpoints"][0]["authorization"] == {
        "type": "Bearer",
        "credentials": {"name": "prometheus-ledger", "key": "token"},
    }
    assert config_map(manifests)["LEDGER_METRICS_PUBLIC"] == "false"


def test_public_metrics_need_no_token(all_roles_manifests: list[dict]) -> None:
    (monitor,) = by_kind(all_roles_manifests, "ServiceMonitor").values()
    assert "authorization" not in monitor["spec"]["endpoints"][0]


def test_a_role_can_mount_a_shared_volume(tools: Tools, tmp_path: Path) -> None:
    """E.g. reconciliation's statement inbox on a shared (EFS) claim, beside the emptyDirs."""
    values = tmp_path / "inbox.yaml"
    values.write_text(
        "roles:\n"
        "  fraud:\n"
        "    extraVolumes:\n"
        "      - name: inbox\n"
        "        persistentVolumeClaim: {claimName: statements}\n"
        "    extraVolumeMounts:\n"
        "      - {name: inbox, mountPath: /var/lib/ledger/reconciliation/inbox}\n"
    )
    deployments = by_kind(tools.render(values), "Deployment")
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        volumes = {v["name"] for v in pod["volumes"]}
        if role_of(deployment) == "fraud":
            assert mounts["inbox"] == "/var/lib/ledger/reconciliation/inbox"
            assert volumes == {"tmp", "data", "db-ca", "inbox"}
        else:
            assert "inbox" not in mounts and volumes == {"tmp", "data", "db-ca"}, name
    bad = tmp_path / "bad.yaml"
    bad.write_text("roles:\n  fraud:\n    extraVolumeMounts:\n      - {name: inbox}\n")
    refused = tools.helm_template(bad)
    assert refused.returncode != 0 and "mountPath" in refused.stderr


def test_notification_rules_reach_every_role_as_a_file_the_ledger_accepts(
    tools: Tools, tmp_path: Path
) -> None:
    values = tmp_path / "rules.yaml"
    values.write_text(
        "config:\n"
        "  notificationRules:\n"
        "    - name: large-payment-held\n"
        "      events: ['ledger:Transaction.Held']\n"
        "      condition: {minAmount: '10000', currency: EUR}\n"
        "      channel: webhook\n"
        "      target: https://hooks.example.com/ledger\n"
    )
    manifests = tools.render(values)
    (config_map,) = [
        m for m in by_kind(manifests, "ConfigMap").values() if "rules.json" in m.get("data", {})
    ]
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(config_map["data"]["rules.json"])
    settings = Settings.from_env(
        {
            "LEDGER_DATA_DIR": str(tmp_path),
            "LEDGER_NOTIFICATION_RULES": str(rules_file),
            "LEDGER_NOTIFY_WEBHOOK_SECRET": "s" * 32,
        }
    )
    assert [rule.name for rule in settings.notifications.rules.rules] == ["large-payment-held"]
    for deployment in by_kind(manifests, "Deployment").values():
        pod = deployment["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert env["LEDGER_NOTIFICATION_RULES"] == "/etc/ledger/notification-rules/rules.json"
        assert "/etc/ledger/notification-rules" in mounts
        assert (
            "checksum/notification-rules"
            in deployment["spec"]["template"]["metadata"]["annotations"]
        )
    # Without rules: no ConfigMap, no variable (the built-in rules, which deliver nothing).
    plain = tools.render()
    assert not [m for m in by_kind(plain, "ConfigMap").values() if "rules.json" in m["data"]]


def test_a_notification_rule_with_an_unknown_channel_fails_the_schema(
    tools: Tools, tmp_path: Path
) -> None:
    values = tmp_path / "bad-rules.yaml"
    values.write_text(
        "config:\n  notificationRules:\n"
        "    - {name: r, events: ['ledger:Transaction.Held'], channel: sms}\n"
    )
    refused = tools.helm_template(values)
    assert refused.returncode != 0 and "channel" in refused.stderr
