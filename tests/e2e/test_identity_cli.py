"""``ledger users`` and ``ledger approvals``, and the demo's maker-checker data, end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.cli.main import main
from api.runtime.bootstrap import bootstrap
from api.runtime.settings import Settings
from application.identity.principals import Requester
from domain.identity.permissions import ChangeKind, permissions_of

pytestmark = pytest.mark.usefixtures("restore_logging")


def test_two_first_admins_in_one_command(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["users", "bootstrap", "--user", "alice", "--user", "bob", "--roles", "admin"]
    assert main(argv, env) == 0
    out = capsys.readouterr().out
    assert "alice registered; granted admin" in out and "bob registered; granted admin" in out
    assert main(argv, env) == 1  # now there are admins


def test_users_bootstrap_then_refuses_a_second_admin_without_force(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "list"], env) == 0
    assert "no users yet" in capsys.readouterr().out
    assert main(["users", "bootstrap", "--user", "Alice", "--roles", "admin"], env) == 0
    out = capsys.readouterr().out
    assert "alice registered; granted admin; now holds admin (active)" in out
    assert "recorded as user:" in out
    refused = main(["users", "bootstrap", "--user", "bob", "--roles", "admin,auditor"], env)
    assert refused == 1
    assert "already has active admin(s) alice" in capsys.readouterr().err
    forced = ["users", "bootstrap", "--user", "bob", "--roles", "admin,auditor", "--force"]
    assert main(forced, env) == 0
    assert "now holds admin, auditor" in capsys.readouterr().out
    assert main(["users", "list"], env) == 0
    listing = capsys.readouterr().out
    assert "alice" in listing and "bob" in listing and "admin, auditor" in listing
    pair = ["users", "bootstrap", "--user", "carl", "--user", "dora", "--roles", "viewer"]
    assert main([*pair, "--force"], env) == 0
    out = capsys.readouterr().out
    assert "carl registered; granted viewer" in out and "dora registered; granted viewer" in out
    container = bootstrap(Settings.from_env(env))
    try:
        entry = container.identity.lookup("bob")
        assert entry is not None and entry.roles == frozenset({"admin", "auditor"})
    finally:
        container.close()


def test_users_bootstrap_refuses_unknown_roles_and_names(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["users", "bootstrap", "--user", "alice", "--roles", "ingestion"], env)
    assert exit_info.value.code == 2
    assert "unknown role(s) ingestion" in capsys.readouterr().err
    assert main(["users", "bootstrap", "--user", "a", "--roles", "admin"], env) == 2
    assert "--user" in capsys.readouterr().err


def test_approvals_expire_marks_overdue_requests(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    yesterday = datetime.now(UTC) - timedelta(hours=25)  # the default TTL is 24 hours
    container = bootstrap(Settings.from_env(env), clock=lambda: yesterday)
    try:
        identity = container.identity
        identity.provision_user("alice", ["admin"])
        identity.provision_user("olga", [])
        alice = Requester("user:alice", permissions_of({"admin"}))
        overdue = identity.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "viewer"}, alice)
        identity.clock = lambda: datetime.now(UTC)
        fresh = identity.request_change(ChangeKind.GRANT_ROLE, "olga", {"role": "auditor"}, alice)
    finally:
        container.close()
    assert main(["approvals", "expire"], env) == 0
    assert "1 request(s) expired; 1 still pending" in capsys.readouterr().out
    assert main(["approvals", "expire"], env) == 0
    assert "0 request(s) expired; 1 still pending" in capsys.readouterr().out
    container = bootstrap(Settings.from_env(env))
    try:
        assert container.identity.get_request(overdue.id).status.value == "EXPIRED"
        assert container.identity.get_request(fresh.id).status.value == "PENDING"
        container.projector.catch_up()
        view = container.identity_queries.change_request(str(overdue.id))
        assert view is not None and view.status == "EXPIRED"
    finally:
        container.close()


def test_demo_shows_maker_checker(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["demo", "--accounts", "8", "--transactions", "120", "--seed", "7"]
    assert main(argv, env) == 0
    out = capsys.readouterr().out
    assert "backoffice users olga, fred, carl, audrey, vic, rita" in out
    assert "1 left pending" in out
    container = bootstrap(Settings.from_env(env))
    try:
        container.projector.catch_up()
        identity = container.identity
        roles = {name: identity.lookup(name).roles for name in ("alice", "bob", "olga", "carl")}  # type: ignore[union-attr]
        assert roles == {
            "alice": frozenset({"admin"}),
            "bob": frozenset({"admin"}),
            "olga": frozenset({"operator"}),
            "carl": frozenset({"compliance"}),
        }
        queries = container.identity_queries
        executed = [v for _, v in queries.change_requests("EXECUTED", 50, None).edges]
        grants = [v for v in executed if v.kind == "GRANT_ROLE"]
        assert len(grants) == 6
        assert {(v.requested_by, v.decided_by) for v in grants} == {("user:alice", "user:bob")}
        freezes = [v for v in executed if v.kind == "FREEZE_ACCOUNT"]
        assert freezes
        assert {(v.requested_by, v.decided_by) for v in freezes} == {("user:olga", "user:carl")}
        pending = [v for _, v in queries.change_requests("PENDING", 50, None).edges]
        assert [(v.kind, v.requested_by) for v in pending] == [("UNFREEZE_ACCOUNT", "user:olga")]
    finally:
        container.close()
    assert main(argv, env) == 0  # a re-run asks for nothing twice
    assert "0 change requests approved by a second person, 0 left pending" in (
        capsys.readouterr().out
    )
