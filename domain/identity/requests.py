"""Maker-checker: a sensitive change takes effect only when someone else approves it.

::

    PENDING -> APPROVED -> EXECUTED | FAILED
    PENDING -> REJECTED              (by a checker, or withdrawn by the requester)
    PENDING -> EXPIRED               (a decision or the sweep after ``expires_at``)

Rules (each a guard here, never an ``assert``):

* only a PENDING request can be approved or rejected;
* a decision at or after ``expires_at`` records ``Expired`` and is refused;
* the approver differs from the requester (no self-approval), and the user whose roles a
  role change names can neither approve nor reject it;
* a rejection by the requester is a withdrawal (recorded as ``Rejected`` by them).

Times (``requested_at``, ``at``) are arguments given by the application's clock, never
read inside an event body, so a replay is deterministic. Actors are principal names
(``user:alice``); the subject of a role change is a bare user name.

:class:`PendingRequests` is the index of PENDING requests and their expiry (one small
aggregate saved with each request change), so the expiry sweep and the duplicate check
read it without scanning every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.identity.errors import (
    InvalidRequest,
    RequestExpired,
    RequestStateError,
    SelfApproval,
)
from domain.identity.permissions import ChangeKind
from domain.identity.users import IDENTITY_NAMESPACE, check_human_role, normalise_user_name

ROLE_KINDS = frozenset({ChangeKind.GRANT_ROLE, ChangeKind.REVOKE_ROLE})
ACCOUNT_KINDS = frozenset({ChangeKind.FREEZE_ACCOUNT, ChangeKind.UNFREEZE_ACCOUNT})

PENDING_INDEX_ID = uuid5(IDENTITY_NAMESPACE, "pending-change-requests")


class RequestStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    EXECUTED = "EXECUTED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


def check_params(
    kind: ChangeKind, subject: str, params: Mapping[str, Any]
) -> tuple[str, dict[str, str]]:
    """The normalised subject and parameters of a request of ``kind``, or
    :class:`InvalidRequest` (:class:`~domain.identity.errors.UnknownRole`,
    :class:`~domain.identity.errors.InvalidUserName`) naming what is wrong."""
    values: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(value, str):
            raise InvalidRequest(f"parameter {key!r} must be a string, got {type(value).__name__}")
        values[str(key)] = value.strip()
    if kind in ROLE_KINDS:
        subject = normalise_user_name(subject)
        check_human_role(values.get("role", ""))
    else:
        subject = subject.strip()
        if not subject:
            raise InvalidRequest(f"a {kind.value} request needs a subject")
        if not values.get("reason"):
            raise InvalidRequest(f"a {kind.value} request needs a reason")
        if kind is ChangeKind.SET_OVERDRAFT_LIMIT and not values.get("limit"):
            raise InvalidRequest(f"a {kind.value} request needs a limit")
        if kind is ChangeKind.SET_HOLDER_DETAILS and not values.get("holderName"):
            raise InvalidRequest(f"a {kind.value} request needs a holderName")
    return subject, values


def request_key(kind: ChangeKind, subject: str, params: Mapping[str, str]) -> str:
    """What a request changes: two PENDING requests with the same key are duplicates."""
    if kind in ROLE_KINDS:
        return f"{kind.value}:{subject}:{params.get('role', '')}"
    return f"{kind.value}:{subject}"


class ChangeRequest(AttributedAggregate):
    """A request for a sensitive change, decided by a checker other than the maker."""

    @event("Requested")
    def __init__(
        self,
        kind: str,
        subject: str,
        params: dict[str, str],
        requested_by: str,
        requested_at: datetime,
        expires_at: datetime,
    ) -> None:
        self.kind = ChangeKind(kind)
        self.subject = subject
        self.params = dict(params)
        self.requested_by = requested_by
        self.requested_at = requested_at
        self.expires_at = expires_at
        self.status = RequestStatus.PENDING
        self.decided_by: str | None = None
        self.decided_at: datetime | None = None
        self.reason: str | None = None
        self.outcome: str | None = None

    @classmethod
    def create(
        cls,
        kind: ChangeKind,
        subject: str,
        params: Mapping[str, Any],
        requested_by: str,
        requested_at: datetime,
        expires_at: datetime,
    ) -> ChangeRequest:
        """A new PENDING request; ``subject`` and ``params`` are checked for ``kind``."""
        kind = ChangeKind(kind)
        subject, values = check_params(kind, subject, params)
        if not requested_by.strip():
            raise InvalidRequest("a request needs a requester")
        if expires_at <= requested_at:
            raise InvalidRequest("a request must expire after it is made")
        return cls(
            kind=kind.value,
            subject=subject,
            params=values,
            requested_by=requested_by,
            requested_at=requested_at,
            expires_at=expires_at,
        )

    # -- queries -------------------------------------------------------------------

    @property
    def key(self) -> str:
        return request_key(self.kind, self.subject, self.params)

    @property
    def is_role_change(self) -> bool:
        return self.kind in ROLE_KINDS

    def is_due(self, at: datetime) -> bool:
        """True when ``at`` is at or past the expiry (and the request still PENDING)."""
        return self.status is RequestStatus.PENDING and at >= self.expires_at

    # -- guards --------------------------------------------------------------------

    def _check_pending(self) -> None:
        if self.status is not RequestStatus.PENDING:
            raise RequestStateError(f"request {self.id} is {self.status.value}, not PENDING")

    def _expire_if_due(self, at: datetime) -> None:
        """Record ``Expired`` and refuse when a decision comes too late."""
        if at >= self.expires_at:
            self._expired(at=at)
            raise RequestExpired(
                f"request {self.id} expired at {self.expires_at.isoformat()}; "
                "it can no longer be decided (ask again)"
            )

    def _check_not_subject(self, who: str, action: str) -> None:
        if self.is_role_change and who == f"user:{self.subject}":
            raise SelfApproval(f"{who} cannot {action} a change of their own roles")

    # -- commands ------------------------------------------------------------------

    def approve(self, approver: str, at: datetime) -> None:
        """Approve as ``approver`` (a principal name) at ``at``.

        Raises :class:`RequestStateError` unless PENDING, :class:`RequestExpired` (after
        recording ``Expired``) when due, :class:`SelfApproval` for the requester or the
        subject of a role change.
        """
        self._check_pending()
        self._expire_if_due(at)
        if approver == self.requested_by:
            raise SelfApproval(f"{approver} requested this change and cannot approve it")
        self._check_not_subject(approver, "approve")
        self._approved(approver=approver, at=at)

    @event("Approved")
    def _approved(self, approver: str, at: datetime) -> None:
        self.status = RequestStatus.APPROVED
        self.decided_by = approver
        self.decided_at = at

    def reject(self, by: str, reason: str, at: datetime) -> None:
        """Reject as ``by``; the requester rejecting is a withdrawal."""
        self._check_pending()
        self._expire_if_due(at)
        if by != self.requested_by:
            self._check_not_subject(by, "reject")
        text = reason.strip()
        if not text:
            raise InvalidRequest("a rejection needs a reason")
        self._rejected(by=by, reason=text, at=at)

    @event("Rejected")
    def _rejected(self, by: str, reason: str, at: datetime) -> None:
        self.status = RequestStatus.REJECTED
        self.decided_by = by
        self.decided_at = at
        self.reason = reason

    def expire(self, at: datetime) -> None:
        """Mark a PENDING request whose expiry has passed as EXPIRED."""
        self._check_pending()
        if at < self.expires_at:
            raise RequestStateError(
                f"request {self.id} expires at {self.expires_at.isoformat()}, not yet"
            )
        self._expired(at=at)

    @event("Expired")
    def _expired(self, at: datetime) -> None:
        self.status = RequestStatus.EXPIRED
        self.decided_at = at

    def _check_approved(self) -> None:
        if self.status is not RequestStatus.APPROVED:
            raise RequestStateError(f"request {self.id} is {self.status.value}, not APPROVED")

    def record_execution(self, at: datetime, outcome: str) -> None:
        """The approved change took effect."""
        self._check_approved()
        self._executed(at=at, outcome=outcome)

    @event("Executed")
    def _executed(self, at: datetime, outcome: str) -> None:
        self.status = RequestStatus.EXECUTED
        self.outcome = outcome

    def record_failure(self, at: datetime, reason: str) -> None:
        """The approved change could not take effect (the account was closed meanwhile ...)."""
        self._check_approved()
        self._execution_failed(at=at, reason=reason)

    @event("ExecutionFailed")
    def _execution_failed(self, at: datetime, reason: str) -> None:
        self.status = RequestStatus.FAILED
        self.reason = reason


class PendingRequests(AttributedAggregate):
    """The index of PENDING requests: id -> (key, expiry), kept beside the requests."""

    @staticmethod
    def create_id() -> UUID:
        return PENDING_INDEX_ID

    @event("Started")
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def add(self, request: ChangeRequest) -> None:
        if str(request.id) in self.entries:
            raise RequestStateError(f"request {request.id} is already pending")
        self._added(request_id=str(request.id), key=request.key, expires_at=request.expires_at)

    @event("Added")
    def _added(self, request_id: str, key: str, expires_at: datetime) -> None:
        self.entries[request_id] = {"key": key, "expires_at": expires_at}

    def remove(self, request_id: UUID) -> None:
        if str(request_id) in self.entries:
            self._removed(request_id=str(request_id))

    @event("Removed")
    def _removed(self, request_id: str) -> None:
        del self.entries[request_id]

    def pending_with_key(self, key: str, at: datetime) -> str | None:
        """The id of a pending request for the same change that has not expired yet."""
        for request_id, entry in self.entries.items():
            if entry["key"] == key and at < entry["expires_at"]:
                return request_id
        return None

    def due(self, at: datetime) -> list[UUID]:
        """The requests whose expiry is at or before ``at``, oldest expiry first."""
        found = sorted(
            (entry["expires_at"], rid)
            for rid, entry in self.entries.items()
            if entry["expires_at"] <= at
        )
        return [UUID(rid) for _expires, rid in found]
