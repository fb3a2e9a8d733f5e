"""deploy/Dockerfile, deploy/docker-compose.yml and deploy/otel/collector.yaml.

No Docker engine runs here, so the image is not built by the tests: the Dockerfile is scanned by
checkov and its contract (stages, user, entrypoint, healthcheck) is read from the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.infra.tools import REPO, ROLES, Tools, checkov_json, failed_checks

DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def run_checkov_dockerfile(tools: Tools, path: Path) -> list[dict]:
    proc = tools.run(
        [
            tools.path("checkov"),
            "--file",
            str(path),
            "--framework",
            "dockerfile",
            "--skip-download",
            "--output",
            "json",
        ]
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return checkov_json(proc)


def test_checkov_passes_on_the_dockerfile(tools: Tools) -> None:
    reports = run_checkov_dockerfile(tools, DOCKERFILE)
    assert reports and reports[0]["summary"]["passed"] > 20
    assert failed_checks(reports) == []


def test_checkov_catches_a_root_image_without_healthcheck(tools: Tools, tmp_path: Path) -> None:
    text = DOCKERFILE.read_text()
    text = re.sub(r"^USER .*$", "", text, flags=re.M)
    text = re.sub(r"^HEALTHCHECK (.*\\\n)*.*$", "", text, flags=re.M)
    broken = tmp_path / "Dockerfile"
    broken.write_text(text)
    failed = " ".join(failed_checks(run_checkov_dockerfile(tools, broken)))
    assert "CKV_DOCKER_2" in failed and "CKV_DOCKER_3" in failed, failed


def test_dockerfile_contract() -> None:
    steps = instructions(DOCKERFILE.read_text())
    froms = [args for word, args in steps if word == "FROM"]
    assert len(froms) >= 2, "multi-stage build expected"
    # The base is a build argument (an offline host builds its own, scripts/build-base-image.sh);
    # its default, what a registry build uses, is the official slim Python 3.11 image.
    first_from = next(i for i, (w, _) in enumerate(steps) if w == "FROM")
    defaults = dict(
        args.split("=", 1) for word, args in steps[:first_from] if word == "ARG" and "=" in args
    )
    assert defaults.get("BASE_IMAGE", "").startswith("python:3.11-slim"), defaults
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: defaults.get(m[1], m[0]), f) for f in froms]
    assert all(f.startswith("python:3.11-slim") for f in resolved), froms
    runtime = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    users = [args for word, args in runtime if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    assert ("ENTRYPOINT", '["ledger", "serve"]') in runtime
    assert ("CMD", '["--role", "api"]') in runtime
    assert any(word == "HEALTHCHECK" and "/healthz" in args for word, args in runtime)
    env = " ".join(args for word, args in runtime if word == "ENV")
    assert "LEDGER_HOST=0.0.0.0" in env, "the server must listen beyond loopback in a container"
    assert "LEDGER_DATA_DIR=/var/lib/ledger" in env
    # The runtime stage installs nothing: it only copies the built virtualenv.
    assert not any(word == "RUN" and "pip install" in args for word, args in runtime)


def test_build_context_leaves_out_local_state() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("**")] == "**", "everything is excluded first"
    allowed = {line for line in ignore if line.startswith("!")}
    assert allowed == {
        "!pyproject.toml",
        "!domain/**",
        "!application/**",
        "!projections/**",
        "!adapters/**",
        "!api/**",
    }


def test_every_deployed_role_exists_in_the_cli() -> None:
    from api.cli.serve import ROLES as CLI_ROLES

    assert set(ROLES) == set(CLI_ROLES) - {"all"}


def test_compose_stack(tools: Tools) -> None:
    (compose,) = tools.yaml_to_json((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "rabbitmq", "migrate", *ROLES} <= set(services)
    plugins = compose["configs"]["rabbitmq-plugins"]["content"]
    assert "rabbitmq_stomp" in plugins
    for name in ("migrate", *ROLES):
        service = services[name]
        assert service["read_only"] is True, name
        assert service["user"] == "10001:10001", name
        assert service["cap_drop"] == ["ALL"], name
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    for role in ROLES:
        assert services[role]["command"] == ["--role", role]
    assert services["migrate"]["command"] == ["migrate"]
    for role in ROLES:  # `ledger serve` runs no DDL: every role waits for `ledger migrate`
        assert services[role]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        ), role
    for service in services.values():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{port} is published beyond loopback"


def test_otel_collector_pipeline(tools: Tools) -> None:
    (config,) = tools.yaml_to_json((DEPLOY / "otel" / "collector.yaml").read_text())
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    assert {"memory_limiter", "batch"} <= set(config["processors"])
    for name, pipeline in config["service"]["pipelines"].items():
        assert pipeline["processors"][0] == "memory_limiter", name
        assert pipeline["processors"][-1] == "batch", name
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline[kind]:
                assert component in config[kind], f"{name}: {component} is not defined"
    assert json.dumps(config).count("${env:") >= 1


def compose_auth_problems(services: dict[str, dict]) -> list[str]:
    """A service with LEDGER_ENV=production must name its identity provider, or it won't start."""
    problems = []
    for name, service in services.items():
        env = service.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.partition("=")[::2] for item in env)
        if str(env.get("LEDGER_ENV", "")).lower() != "production":
            continue
        if not env.get("LEDGER_AUTH_ISSUER"):
            problems.append(f"{name}: LEDGER_ENV=production without LEDGER_AUTH_ISSUER")
        if not (env.get("LEDGER_AUTH_JWKS_URL") or env.get("LEDGER_AUTH_JWKS_FILE")):
            problems.append(f"{name}: LEDGER_ENV=production without LEDGER_AUTH_JWKS_URL")
    return problems


def test_compose_roles_have_the_auth_settings_their_environment_needs(tools: Tools) -> None:
    (compose,) = tools.yaml_to_json((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert compose_auth_problems(services) == []
    # Development, as the file's header says: the api trusts its local issuer (`ledger token`).
    api_env = services["api"]["environment"]
    assert api_env["LEDGER_ENV"] == "development"
    assert not {"LEDGER_AUTH_JWKS_URL", "LEDGER_AUTH_JWKS_FILE"} & set(api_env)
    header = (DEPLOY / "docker-compose.yml").read_text()
    assert (
        "exec -T api ledger token --user" in header and "exec api ledger users bootstrap" in header
    )


def test_compose_auth_check_catches_a_production_role_without_an_idp() -> None:
    services = {
        "api": {"environment": {"LEDGER_ENV": "production"}},
        "projector": {"environment": ["LEDGER_ENV=production", "LEDGER_AUTH_ISSUER=https://i"]},
        "ok": {
            "environment": {
                "LEDGER_ENV": "production",
                "LEDGER_AUTH_ISSUER": "https://idp.test/realms/x",
                "LEDGER_AUTH_JWKS_URL": "https://idp.test/realms/x/certs",
            }
        },
    }
    assert compose_auth_problems(services) == [
        "api: LEDGER_ENV=production without LEDGER_AUTH_ISSUER",
        "api: LEDGER_ENV=production without LEDGER_AUTH_JWKS_URL",
        "projector: LEDGER_ENV=production without LEDGER_AUTH_JWKS_URL",
    ]
