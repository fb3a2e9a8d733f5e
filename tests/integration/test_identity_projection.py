"""The identity read model follows the identity log, and a rebuild gives the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.persistence import DatabaseConfig
from api.bootstrap import Container, bootstrap
from api.settings import Settings
from application.errors import ApplicationError
from application.identity import Requester
from domain.identity.permissions import ChangeKind, permissions_of
from projections.identity import rm_change_requests, rm_users
from projections.runner import Projector
from tests.builders import FakeClock

ALICE = Requester("user:alice", permissions_of({"admin"}))
BOB = Requester("user:bob", permissions_of({"admin"}))
NAMES = ["olga", "fred", "carl"]
ROLES = ["operator", "viewer", "auditor"]


@pytest.fixture
def container(database: DatabaseConfig) -> Iterator[Container]:
    clock = FakeClock()
    built = bootstrap(Settings().with_database(database), clock=clock)
    built.identity.provision_user("alice", ["admin"])
    built.identity.provision_user("bob", ["admin"])
    try:
        yield built
    finally:
        built.close()


def dump(container: Container) -> dict[str, list[dict[str, Any]]]:
    with container.read_engine.connect() as conn:
        return {
            table.name: [
                dict(row) for row in conn.execute(select(table).order_by(table.c.id)).mappings()
            ]
            for table in (rm_users, rm_change_requests)
        }


def run(container: Container, ops: list[tuple[str, int, int]], batch_size: int) -> None:
    identity = container.identity
    clock: Any = identity.clock
    projector = Projector(container.read_engine, container.sources, batch_size=batch_size)
    requests: list[Any] = []
    for op, a, b in ops:
        name, role = NAMES[a % 3], ROLES[b % 3]
        try:
            if op == "register":
                identity.register_user(name, name.title(), ALICE)
            elif op == "grant":
                requests.append(
                    identity.request_change(ChangeKind.GRANT_ROLE, name, {"role": role}, ALICE)
                )
            elif op == "revoke":
                requests.append(
                    identity.request_change(ChangeKind.REVOKE_ROLE, name, {"role": role}, BOB)
                )
            elif op == "approve" and requests:
                identity.approve(requests[b % len(requests)].id, BOB if a % 2 else ALICE)
            elif op == "reject" and requests:
                identity.reject(requests[b % len(requests)].id, "no", BOB)
            elif op == "suspend":
                identity.suspend_user(name, "leave", ALICE)
            elif op == "reactivate":
                identity.reactivate_user(name, "back", ALICE)
            elif op == "tick":
                clock.advance(b * 3600)
                identity.expire_due()
            elif op == "project":
                projector.catch_up()
        except ApplicationError:
            pass
    projector.catch_up()
    for name in [*NAMES, "alice", "bob"]:
        entry = identity.lookup(name)
        view = container.identity_queries.user(name)
        if entry is None:
            assert view is None
            continue
        assert view is not None
        assert (set(view.roles), view.status == "ACTIVE") == (set(entry.roles), entry.active)
    for request in requests:
        stored = identity.get_request(request.id)
        row = container.identity_queries.change_request(str(request.id))
        assert row is not None
        assert (row.status, row.decided_by) == (stored.status.value, stored.decided_by)
    incremental = dump(container)
    projector.rebuild("identity")
    assert dump(container) == incremental


def test_a_scenario_projects_and_rebuilds_identically(container: Container) -> None:
    ops = [
        ("register", 0, 0),
        ("register", 1, 0),
        ("grant", 0, 0),
        ("project", 0, 0),
        ("approve", 0, 0),  # alice approving her own: refused
        ("approve", 1, 0),
        ("grant", 1, 1),
        ("revoke", 0, 0),
        ("reject", 0, 1),
        ("suspend", 1, 0),
        ("tick", 0, 25),
        ("reactivate", 1, 0),
    ]
    run(container, ops, batch_size=2)
    view = container.identity_queries.user("olga")
    assert view is not None and view.roles == ["operator"]
    page = container.identity_queries.change_requests("EXPIRED", 10, None)
    assert [(v.kind, v.subject) for _, v in page.edges] == [("REVOKE_ROLE", "olga")]
    rejected = container.identity_queries.change_requests("REJECTED", 10, None)
    assert [(v.subject, v.decided_by) for _, v in rejected.edges] == [("fred", "user:bob")]
    users = container.identity_queries.users(None, 2, None)
    assert [v.name for _, v in users.edges] == ["alice", "bob"]
    rest = container.identity_queries.users(None, 10, users.end_cursor)
    assert [v.name for _, v in rest.edges] == ["fred", "olga"]
    assert container.identity_queries.active_users_with_role("admin") == ["alice", "bob"]


OPS = (
    "register",
    "grant",
    "revoke",
    "approve",
    "reject",
    "suspend",
    "reactivate",
    "tick",
    "project",
)
operations = st.lists(
    st.tuples(
        st.sampled_from(OPS),
        st.integers(0, 5),
        st.integers(0, 30),
    ),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, batch_size=st.sampled_from([1, 4, 500]))
def test_identity_projection_follows_the_log_and_rebuilds_identically(
    sqlite_database: DatabaseConfig, ops: list[tuple[str, int, int]], batch_size: int
) -> None:
    import shutil
    import tempfile
    from pathlib import Path

    base = Path(tempfile.mkdtemp(prefix="identity-prop-"))
    try:
        built = bootstrap(Settings().with_database(DatabaseConfig(base)), clock=FakeClock())
        try:
            built.identity.provision_user("alice", ["admin"])
            built.identity.provision_user("bob", ["admin"])
            run(built, ops, batch_size)
        finally:
            built.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
