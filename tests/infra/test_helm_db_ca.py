"""The database CA bundle (database.caBundle): the file sslrootcert names exists in every pod.

docs/operations.md prescribes ``LEDGER_DATABASE_URL=...?sslmode=verify-full&sslrootcert=...``;
libpq refuses to connect when that file is missing, so every pod that connects (each role, the
migration hook Job, the approvals-expiry CronJob) must mount the bundle at exactly that path.
These tests take the path from the runbook itself, so the chart and the documented URL cannot
drift apart.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.infra.test_helm import kubernetes_validate, lint
from tests.infra.tools import (
    ALL_ROLES_VALUES,
    CHART,
    NAMESPACE,
    RELEASE,
    REPO,
    ROLES,
    Tools,
    by_kind,
)

OPERATIONS = REPO / "docs" / "operations.md"
DEFAULT_CONFIG_MAP = "backoffice-ledger-db-ca"  # values.yaml database.caBundle.existingConfigMap
MIGRATE_JOB = f"{RELEASE}-migrate"
EXPIRY_CRONJOB = f"{RELEASE}-approvals-expiry"

# A self-signed test CA (certificate only, no key): what an operator pastes into
# database.caBundle.pem. Its content is never checked by the chart beyond being PEM.
TEST_CA_PEM = """\
-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUUssQfEjc/tU03L4saLXk2JA+HIwwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXbGVkZ2VyIHRlc3QgZGF0YWJhc2UgQ0EwIBcNMjYxMjA3MTEw
NjU3WhgPMjEyNjExMTMxMTA2NTdaMCIxIDAeBgNVBAMMF2xlZGdlciB0ZXN0IGRh
dGFiYXNlIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEBopmyQsIH9GcQp83
W573+4U50MYBGlg2o3gIfIWpZnn91xw/g1Y0HOLR/BPDzQvi+kXM02pQfTcv04No
AXy/56NTMFEwHQYDVR0OBBYEFFMIsO+G9wTyRuTN6wwuF1UxwbsAMB8GA1UdIwQY
MBaAFFMIsO+G9wTyRuTN6wwuF1UxwbsAMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDRwAwRAIgI4P9QkctB9lrAzCz8NI0nyuLmaJjsUf29gbVB85Ik7UCIEVp
+SJZwm7YCotCaZMUarL4wE2yP/hEuK/OC/g7ojmM
-----END CERTIFICATE-----
"""


def documented_sslrootcert() -> str:
    """The sslrootcert of the LEDGER_DATABASE_URL that docs/operations.md prescribes."""
    urls = re.findall(r"`(postgresql://[^`]*sslrootcert=[^`]*)`", OPERATIONS.read_text())
    assert urls, "docs/operations.md prescribes no LEDGER_DATABASE_URL with sslrootcert"
    query = parse_qs(urlsplit(urls[0]).query)
    assert query["sslmode"] == ["verify-full"], query
    (path,) = query["sslrootcert"]
    assert path.startswith("/"), path
    return path


def pods(manifests: list[dict]) -> dict[str, dict]:
    """Every pod spec of the release that connects to PostgreSQL: name -> pod spec."""
    found = {
        f"Deployment/{name}": d["spec"]["template"]["spec"]
        for name, d in by_kind(manifests, "Deployment").items()
    }
    for name, job in by_kind(manifests, "Job").items():
        found[f"Job/{name}"] = job["spec"]["template"]["spec"]
    for name, cronjob in by_kind(manifests, "CronJob").items():
        found[f"CronJob/{name}"] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return found


def mounted_file(pod: dict, path: str) -> tuple[dict, dict, str]:
    """The volume, the read-only mount and the source key that put a file at ``path``.

    Fails unless exactly one mount of the (single) container covers the file's directory and its
    volume projects a key onto the file name, as the kubelet would.
    """
    directory, file_name = posixpath.split(path)
    (container,) = pod["containers"]
    mounts = [m for m in container["volumeMounts"] if m["mountPath"].rstrip("/") == directory]
    assert len(mounts) == 1, f"{len(mounts)} mounts at {directory}: {container['volumeMounts']}"
    (mount,) = mounts
    assert mount.get("readOnly") is True, mount
    assert "subPath" not in mount, "a subPath mount never sees a rotated bundle"
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    source = volume.get("configMap") or volume.get("secret")
    assert source, f"volume {volume['name']} is neither a ConfigMap nor a Secret: {volume}"
    keys = [item["key"] for item in source.get("items", []) if item["path"] == file_name]
    assert len(keys) == 1, f"no key of {volume} becomes {file_name}"
    assert source.get("optional") is not True, "a missing bundle must stop the pod, visibly"
    return volume, mount, keys[0]


def test_every_pod_mounts_the_ca_bundle_the_documented_url_names(
    all_roles_manifests: list[dict],
) -> None:
    """By default (the production values) from the operator's ConfigMap backoffice-ledger-db-ca."""
    path = documented_sslrootcert()
    found = pods(all_roles_manifests)
    expected = {f"Deployment/{RELEASE}-{role}" for role in ROLES}
    expected |= {f"Job/{MIGRATE_JOB}", f"CronJob/{EXPIRY_CRONJOB}"}
    assert set(found) == expected
    for name, pod in found.items():
        volume, _, key = mounted_file(pod, path)
        assert volume["configMap"]["name"] == DEFAULT_CONFIG_MAP, name
        assert key == "rds-ca.pem", name
    # The chart creates no ConfigMap for a bundle the operator supplies.
    assert DEFAULT_CONFIG_MAP not in by_kind(all_roles_manifests, "ConfigMap")


def test_inline_pem_becomes_a_config_map_and_a_hook_copy_for_the_migration(
    tools: Tools, tmp_path: Path
) -> None:
    values = tmp_path / "inline-ca.yaml"
    values.write_text(
        "database:\n  caBundle:\n    pem: |\n"
        + "".join(f"      {line}\n" for line in TEST_CA_PEM.splitlines())
    )
    proc = tools.helm_template(ALL_ROLES_VALUES, values)
    assert proc.returncode == 0, proc.stderr
    code, output = kubernetes_validate(tools, proc.stdout, tmp_path)
    assert code == 0, output
    manifests = tools.yaml_to_json(proc.stdout)
    config_maps = by_kind(manifests, "ConfigMap")
    ordinary, hook = config_maps[f"{RELEASE}-db-ca"], config_maps[f"{MIGRATE_JOB}-db-ca"]
    assert ordinary["data"] == {"rds-ca.pem": TEST_CA_PEM}
    assert hook["data"] == ordinary["data"]
    assert "helm.sh/hook" not in (ordinary["metadata"].get("annotations") or {})
    annotations = hook["metadata"]["annotations"]
    job_annotations = by_kind(manifests, "Job")[MIGRATE_JOB]["metadata"]["annotations"]
    # The Job's own hook runs before everything else of the release: its bundle must exist then.
    assert annotations["helm.sh/hook"] == job_annotations["helm.sh/hook"]
    assert int(annotations["helm.sh/hook-weight"]) < int(job_annotations["helm.sh/hook-weight"])
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    path = documented_sslrootcert()
    for name, pod in pods(manifests).items():
        volume, _, key = mounted_file(pod, path)
        wanted = hook if name == f"Job/{MIGRATE_JOB}" else ordinary
        assert volume["configMap"]["name"] == wanted["metadata"]["name"], name
        assert key in wanted["data"], name
    # A new bundle rolls the roles (the kubelet's refresh of the file alone reaches no pool).
    for deployment in by_kind(manifests, "Deployment").values():
        assert "checksum/db-ca" in deployment["spec"]["template"]["metadata"]["annotations"]


def test_ca_bundle_from_an_existing_secret_under_its_own_key(tools: Tools) -> None:
    """E.g. an External Secrets or trust-manager bundle keyed ca.crt: the file name stays."""
    manifests = tools.render(
        sets=["database.caBundle.existingSecret=rds-ca", "database.caBundle.key=ca.crt"]
    )
    path = documented_sslrootcert()
    for name, pod in pods(manifests).items():
        volume, _, key = mounted_file(pod, path)
        assert volume["secret"]["secretName"] == "rds-ca", name
        assert key == "ca.crt", name
    assert not [m for m in by_kind(manifests, "ConfigMap") if m.endswith("db-ca")]


def test_mount_path_and_file_name_follow_the_values(tools: Tools) -> None:
    manifests = tools.render(
        sets=["database.caBundle.mountPath=/etc/pki/db", "database.caBundle.fileName=bundle.pem"]
    )
    for pod in pods(manifests).values():
        mounted_file(pod, "/etc/pki/db/bundle.pem")


def test_a_disabled_ca_bundle_mounts_nothing(tools: Tools) -> None:
    manifests = tools.render(sets=["database.caBundle.enabled=false"])
    for name, pod in pods(manifests).items():
        assert "db-ca" not in {v["name"] for v in pod["volumes"]}, name
        (container,) = pod["containers"]
        assert "db-ca" not in {m["name"] for m in container["volumeMounts"]}, name


BROKEN_CA_BUNDLES = {
    "no-source": ('database:\n  caBundle:\n    existingConfigMap: ""\n', "/database/caBundle"),
    "not-pem": ("database:\n  caBundle:\n    pem: rds-ca.pem\n", "/database/caBundle/pem"),
    "private-key": (
        "database:\n  caBundle:\n    pem: |\n"
        + "".join(f"      {line}\n" for line in TEST_CA_PEM.splitlines())
        + "      -----BEGIN PRIVATE KEY-----\n      AAAA\n      -----END PRIVATE KEY-----\n",
        "/database/caBundle/pem",
    ),
    "relative-mount-path": (
        "database:\n  caBundle:\n    mountPath: etc/ledger/db-ca\n",
        "/database/caBundle/mountPath",
    ),
    "file-name-with-a-slash": (
        "database:\n  caBundle:\n    fileName: certs/rds-ca.pem\n",
        "/database/caBundle/fileName",
    ),
}


@pytest.mark.parametrize(
    ("values", "message"), BROKEN_CA_BUNDLES.values(), ids=BROKEN_CA_BUNDLES.keys()
)
def test_broken_ca_bundle_values_fail_the_schema(
    tools: Tools, tmp_path: Path, values: str, message: str
) -> None:
    path = tmp_path / "ca-values.yaml"
    path.write_text(values)
    code, output = lint(tools, path)
    assert code != 0 and message in output, output
    proc = tools.helm_template(path)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


def test_a_ca_bundle_without_a_source_fails_even_without_the_schema(
    tools: Tools, tmp_path: Path
) -> None:
    """Pods would wait forever for a volume nobody creates; the template says so instead."""
    proc = tools.run(
        [
            tools.path("helm"), "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
            "--set", "database.caBundle.existingConfigMap=", "--skip-schema-validation",
        ]
    )  # fmt: skip
    assert proc.returncode != 0
    assert "database.caBundle is enabled without a source" in proc.stderr, proc.stderr
