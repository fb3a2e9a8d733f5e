"""The identity domain: users and their roles, maker-checker change requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.causation import Causation, caused_by
from domain.identity.errors import (
    InvalidRequest,
    InvalidUserName,
    RequestExpired,
    RequestStateError,
    SelfApproval,
    UnknownRole,
    UserStateError,
)
from domain.identity.permissions import HUMAN_ROLES, SERVICE_ROLES, ChangeKind
from domain.identity.requests import ChangeRequest, PendingRequests, RequestStatus
from domain.identity.users import BackofficeUser, UserStatus, normalise_user_name, user_id

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TTL = timedelta(hours=24)


def grant(subject: str = "olga", role: str = "operator", by: str = "user:alice") -> ChangeRequest:
    return ChangeRequest.create(ChangeKind.GRANT_ROLE, subject, {"role": role}, by, T0, T0 + TTL)


def kinds(aggregate: Any) -> list[str]:
    return [type(e).__name__ for e in aggregate.collect_events()]


# --------------------------------------------------------------------------- users


def test_user_id_derives_from_the_normalised_name() -> None:
    assert normalise_user_name("  Alice.Smith ") == "alice.smith"
    assert user_id("ALICE") == user_id("alice")
    assert user_id("alice") != user_id("bob")
    user = BackofficeUser.register("Alice", "Alice Smith")
    assert user.id == user_id("alice")
    assert (user.name, user.display_name, user.status) == (
        "alice",
        "Alice Smith",
        UserStatus.ACTIVE,
    )
    assert BackofficeUser.register("bob").display_name == "bob"


@pytest.mark.parametrize(
    "name", ["a", "", "x" * 65, "al ice", "user:alice", "élise", "a/b", ".alice", "-a", "a\nb"]
)
def test_invalid_user_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidUserName):
        BackofficeUser.register(name)


@given(st.from_regex(r"[a-z0-9][a-z0-9._-]{1,63}", fullmatch=True))
def test_every_valid_name_normalises_to_itself(name: str) -> None:
    assert normalise_user_name(name) == name
    assert normalise_user_name(name.upper()) == name


def test_only_human_roles_can_be_held() -> None:
    user = BackofficeUser.register("olga")
    for role in SERVICE_ROLES:
        with pytest.raises(UnknownRole):
            user.grant_role(role, None)
    with pytest.raises(UnknownRole):
        user.grant_role("superuser", None)
    for role in HUMAN_ROLES:
        user.grant_role(role, None)
    assert user.roles == set(HUMAN_ROLES)
    with pytest.raises(UserStateError):
        user.grant_role("viewer", None)
    user.revoke_role("viewer", None)
    with pytest.raises(UserStateError):
        user.revoke_role("viewer", None)


def test_suspension_takes_every_permission_away_and_reactivation_gives_it_back() -> None:
    user = BackofficeUser.register("olga")
    user.grant_role("operator", None)
    granted = user.permissions
    assert "accounts:freeze" in granted
    user.suspend("left the team")
    assert user.permissions == frozenset()
    assert user.roles == {"operator"}
    with pytest.raises(UserStateError):
        user.suspend("again")
    with pytest.raises(UserStateError):
        user.reactivate("  ")
    user.reactivate("back")
    assert user.permissions == granted
    assert kinds(user) == ["Registered", "RoleGranted", "Suspended", "Reactivated"]


def test_user_events_carry_the_causation() -> None:
    with caused_by(Causation(actor="user:alice", correlation_id="c-1", channel="CLI")):
        user = BackofficeUser.register("olga")
        user.grant_role("viewer", uuid4())
    for event in user.collect_events():
        assert (event.actor, event.correlation_id, event.via_channel) == (  # type: ignore[attr-defined]
            "user:alice",
            "c-1",
            "CLI",
        )


# --------------------------------------------------------------------------- requests


def test_a_request_is_pending_until_a_second_person_approves() -> None:
    request = grant()
    assert request.status is RequestStatus.PENDING
    assert (request.subject, request.params, request.requested_by) == (
        "olga",
        {"role": "operator"},
        "user:alice",
    )
    assert request.expires_at == T0 + TTL
    request.approve("user:bob", T0 + timedelta(hours=1))
    assert request.status is RequestStatus.APPROVED
    assert (request.decided_by, request.decided_at) == ("user:bob", T0 + timedelta(hours=1))
    request.record_execution(T0 + timedelta(hours=1), "granted operator to olga")
    assert request.status is RequestStatus.EXECUTED
    assert kinds(request) == ["Requested", "Approved", "Executed"]


def test_self_approval_is_refused() -> None:
    request = grant(by="user:alice")
    with pytest.raises(SelfApproval, match="cannot approve"):
        request.approve("user:alice", T0)
    assert request.status is RequestStatus.PENDING
    assert kinds(request) == ["Requested"]


def test_the_subject_cannot_approve_or_reject_their_own_role_change() -> None:
    request = grant(subject="olga", by="user:alice")
    with pytest.raises(SelfApproval, match="their own roles"):
        request.approve("user:olga", T0)
    with pytest.raises(SelfApproval):
        request.reject("user:olga", "no thanks", T0)
    assert request.status is RequestStatus.PENDING


def test_a_subject_may_not_be_confused_with_an_account_key() -> None:
    freeze = ChangeRequest.create(
        ChangeKind.FREEZE_ACCOUNT, "olga", {"reason": "x"}, "user:alice", T0, T0 + TTL
    )
    freeze.approve("user:olga", T0)  # "olga" is an account key here, not a user
    assert freeze.status is RequestStatus.APPROVED


def test_approval_at_or_after_expiry_records_expired_and_refuses() -> None:
    request = grant()
    with pytest.raises(RequestExpired, match="expired"):
        request.approve("user:bob", T0 + TTL)
    assert request.status is RequestStatus.EXPIRED
    assert kinds(request) == ["Requested", "Expired"]
    with pytest.raises(RequestStateError):
        request.approve("user:bob", T0 + TTL)


def test_only_pending_requests_can_be_decided() -> None:
    request = grant()
    request.reject("user:bob", "not needed", T0)
    assert (request.status, request.reason, request.decided_by) == (
        RequestStatus.REJECTED,
        "not needed",
        "user:bob",
    )
    with pytest.raises(RequestStateError):
        request.approve("user:carl", T0)
    with pytest.raises(RequestStateError):
        request.reject("user:carl", "no", T0)
    with pytest.raises(RequestStateError):
        request.record_execution(T0, "x")


def test_the_requester_may_withdraw() -> None:
    request = grant(by="user:alice")
    request.reject("user:alice", "asked by mistake", T0)
    assert (request.status, request.decided_by) == (RequestStatus.REJECTED, "user:alice")
    with pytest.raises(InvalidRequest):
        grant().reject("user:bob", " ", T0)


def test_expire_only_when_due() -> None:
    request = grant()
    with pytest.raises(RequestStateError, match="not yet"):
        request.expire(T0 + TTL - timedelta(seconds=1))
    request.expire(T0 + TTL)
    assert request.status is RequestStatus.EXPIRED


def test_execution_failure_is_recorded() -> None:
    request = grant()
    request.approve("user:bob", T0)
    request.record_failure(T0, "olga already holds role operator")
    assert (request.status, request.reason) == (
        RequestStatus.FAILED,
        "olga already holds role operator",
    )


@pytest.mark.parametrize(
    ("kind", "subject", "params"),
    [
        (ChangeKind.GRANT_ROLE, "olga", {"role": "channel"}),
        (ChangeKind.GRANT_ROLE, "olga", {}),
        (ChangeKind.REVOKE_ROLE, "no one", {"role": "viewer"}),
        (ChangeKind.FREEZE_ACCOUNT, "DE89370400440532013000", {}),
        (ChangeKind.REVERSE_TRANSACTION, " ", {"reason": "x"}),
        (ChangeKind.UNFREEZE_ACCOUNT, "DE89370400440532013000", {"reason": 5}),
    ],
)
def test_requests_check_subject_and_params(
    kind: ChangeKind, subject: str, params: dict[str, Any]
) -> None:
    with pytest.raises((InvalidRequest, UnknownRole, InvalidUserName)):
        ChangeRequest.create(kind, subject, params, "user:alice", T0, T0 + TTL)


def test_a_request_must_expire_after_it_is_made() -> None:
    with pytest.raises(InvalidRequest):
        ChangeRequest.create(ChangeKind.GRANT_ROLE, "olga", {"role": "viewer"}, "user:a", T0, T0)


@given(
    approver=st.sampled_from(["user:alice", "user:bob", "user:olga"]),
    offset=st.integers(min_value=-3600, max_value=2 * 86400),
)
def test_approval_rules_hold_for_any_approver_and_time(approver: str, offset: int) -> None:
    """Approved exactly when the approver is neither requester nor subject and it is in time;
    otherwise refused, and EXPIRED exactly when it came too late."""
    request = grant(subject="olga", by="user:alice")
    at = T0 + timedelta(seconds=offset)
    try:
        request.approve(approver, at)
    except RequestExpired:
        assert at >= request.expires_at
        assert request.status is RequestStatus.EXPIRED
        return
    except SelfApproval:
        assert approver in {"user:alice", "user:olga"}
        assert request.status is RequestStatus.PENDING
        return
    assert approver == "user:bob" and at < request.expires_at
    assert request.status is RequestStatus.APPROVED


def test_pending_index_lists_due_requests_and_duplicates() -> None:
    index = PendingRequests()
    first = grant()
    second = ChangeRequest.create(
        ChangeKind.GRANT_ROLE, "fred", {"role": "viewer"}, "user:alice", T0, T0 + timedelta(hours=1)
    )
    index.add(first)
    index.add(second)
    with pytest.raises(RequestStateError):
        index.add(first)
    assert index.pending_with_key(first.key, T0) == str(first.id)
    assert index.pending_with_key(first.key, T0 + TTL) is None  # due: no longer blocks
    assert index.due(T0) == []
    assert index.due(T0 + TTL) == [second.id, first.id]
    index.remove(second.id)
    index.remove(second.id)  # idempotent
    assert index.due(T0 + TTL) == [first.id]
