"""The identity application: backoffice users, their roles, and maker-checker requests.

* Users are registered, suspended and reactivated directly (``users:manage``); their roles
  change only through a :class:`~domain.identity.requests.ChangeRequest` approved by a
  second person (``users:approve``), or by the console bootstrap (:meth:`provision_user`).
* Sensitive ledger changes (freeze, unfreeze, reversal above the threshold) are requests as
  well; on approval a :class:`~application.identity.ports.ChangeExecutor`, injected at
  construction, carries them out, so this module never imports the ledger.
* :meth:`IdentityApplication.lookup` is what authentication asks on every request: the
  roles a user holds now and whether they are suspended.

Each use case is one ``save`` of everything it touched (a role change's request, the user
and the pending index together), retried from fresh reads on a concurrency conflict by the
shared :func:`application.unit_of_work.run`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.utils import EnvType

from application import unit_of_work
from application.errors import (
    AlreadyExists,
    ApplicationError,
    Conflict,
    InvalidCommand,
    NotFound,
    Refused,
)
from application.identity.ports import ChangeExecutor
from application.identity.principals import Requester, UserEntry, bare_name, require
from application.identity.unit_of_work import IdentityUnitOfWork
from application.unit_of_work import Clock, utc_now
from domain.identity.errors import (
    IdentityError,
    InvalidRequest,
    InvalidUserName,
    SelfApproval,
    UnknownRole,
)
from domain.identity.permissions import (
    APPROVE_PERMISSION,
    REQUEST_PERMISSION,
    ChangeKind,
    Permission,
)
from domain.identity.requests import (
    ROLE_KINDS,
    ChangeRequest,
    PendingRequests,
    RequestStatus,
    check_params,
    request_key,
)
from domain.identity.users import BackofficeUser, user_id

DEFAULT_APPROVAL_TTL = timedelta(hours=24)

T = TypeVar("T")


class IdentityApplication(Application[UUID]):
    """Users, roles and the maker-checker requests of the identity context."""

    name = "identity"
    snapshotting_intervals = {PendingRequests: 200}  # noqa: RUF012 - eventsourcing's attribute

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        clock: Clock = utc_now,
        approval_ttl: timedelta = DEFAULT_APPROVAL_TTL,
        executor: ChangeExecutor | None = None,
    ) -> None:
        super().__init__(env)
        if approval_ttl <= timedelta(0):
            raise ValueError("approval_ttl must be positive")
        self.clock = clock
        self.approval_ttl = approval_ttl
        self.executor = executor
        self._lock = threading.RLock()

    # -- users -----------------------------------------------------------------------

    def lookup(self, name: str) -> UserEntry | None:
        """The user called ``name`` (bare, not ``user:``-prefixed) as of now, or None."""
        try:
            aggregate_id = user_id(name)
        except InvalidUserName:
            return None
        try:
            user: BackofficeUser = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return UserEntry.of(user)

    def get_user(self, name: str) -> BackofficeUser:
        entry = self._find_user(name)
        if entry is None:
            raise NotFound(f"no user {name}")
        return entry

    def register_user(self, name: str, display_name: str | None, by: Requester) -> UserEntry:
        """Register a user without roles (``users:manage``)."""
        require(by, Permission.USERS_MANAGE)

        def attempt(work: IdentityUnitOfWork, _now: datetime) -> UserEntry:
            user = BackofficeUser.register(name, display_name)
            if work.user(user.name) is not None:
                raise AlreadyExists(f"user {user.name} is already registered")
            work.add(user)
            return UserEntry.of(user)

        return self._run(attempt)

    def suspend_user(self, name: str, reason: str, by: Requester) -> UserEntry:
        """Take every permission away from ``name`` until reactivated (``users:manage``)."""
        require(by, Permission.USERS_MANAGE)
        if by.name == f"user:{bare_name(name)}":
            raise Refused(f"{by.name} cannot suspend themselves")
        return self._change_user(name, lambda user: user.suspend(reason))

    def reactivate_user(self, name: str, reason: str, by: Requester) -> UserEntry:
        """Give a suspended user their roles' permissions back (``users:manage``)."""
        require(by, Permission.USERS_MANAGE)
        return self._change_user(name, lambda user: user.reactivate(reason))

    def provision_user(
        self, name: str, roles: Iterable[str], display_name: str | None = None
    ) -> UserEntry:
        """The console bootstrap: register ``name`` if needed, reactivate it, and grant the
        missing ``roles`` without maker-checker. Events carry the caller's causation."""
        wanted = sorted(set(roles))

        def attempt(work: IdentityUnitOfWork, _now: datetime) -> UserEntry:
            user = work.user(name)
            if user is None:
                user = BackofficeUser.register(name, display_name)
                work.add(user)
            if not user.active:
                user.reactivate("provisioned from the console")
            for role in wanted:
                if role not in user.roles:
                    user.grant_role(role, None)
            return UserEntry.of(user)

        return self._run(attempt)

    def _find_user(self, name: str) -> BackofficeUser | None:
        try:
            user: BackofficeUser = self.repository.get(user_id(name))
        except InvalidUserName as error:
            raise InvalidCommand(str(error)) from None
        except AggregateNotFoundError:
            return None
        return user

    def _change_user(self, name: str, change: Callable[[BackofficeUser], None]) -> UserEntry:
        def attempt(work: IdentityUnitOfWork, _now: datetime) -> UserEntry:
            user = work.require_user(name)
            change(user)
            return UserEntry.of(user)

        return self._run(attempt)

    # -- maker-checker ---------------------------------------------------------------

    def get_request(self, request_id: UUID) -> ChangeRequest:
        try:
            request: ChangeRequest = self.repository.get(request_id)
        except AggregateNotFoundError:
            raise NotFound(f"no change request {request_id}") from None
        if not isinstance(request, ChangeRequest):
            raise NotFound(f"no change request {request_id}")
        return request

    def pending(self) -> list[UUID]:
        """The ids of the PENDING requests (from the index, not a scan)."""
        try:
            index: PendingRequests = self.repository.get(PendingRequests.create_id())
        except AggregateNotFoundError:
            return []
        return [UUID(request_id) for request_id in index.entries]

    def request_change(
        self, kind: ChangeKind | str, subject: str, params: Mapping[str, str], by: Requester
    ) -> ChangeRequest:
        """Ask for a change (the maker); it waits for a checker until it expires."""
        try:
            change = ChangeKind(kind)
        except ValueError:
            raise InvalidCommand(f"unknown change kind {kind!r}") from None
        require(by, REQUEST_PERMISSION[change])
        try:
            subject, values = check_params(change, subject, params)
        except IdentityError as error:
            raise InvalidCommand(str(error)) from None
        if change not in ROLE_KINDS:
            if self.executor is None:
                raise InvalidCommand(f"{change.value} requests are not available here")
            facts = self.executor.check(change.value, subject, values)
            values = {**values, **facts}
        key = request_key(change, subject, values)

        def attempt(work: IdentityUnitOfWork, now: datetime) -> ChangeRequest:
            if change in ROLE_KINDS:
                user = work.require_user(subject)
                if change is ChangeKind.GRANT_ROLE:
                    user.check_can_grant(values["role"])
                else:
                    user.check_can_revoke(values["role"])
            index = work.index()
            duplicate = index.pending_with_key(key, now)
            if duplicate is not None:
                raise Conflict(f"the same change is already pending as request {duplicate}")
            request = ChangeRequest.create(
                change, subject, values, by.name, now, now + self.approval_ttl
            )
            work.add(request)
            index.add(request)
            return request

        return self._run(attempt)

    def approve(self, request_id: UUID, by: Requester) -> ChangeRequest:
        """Approve (the checker) and carry out the change: a role change on the user in the
        same save; a ledger change through the executor, recorded as ``Executed`` or
        ``ExecutionFailed`` afterwards. Returns the request as it ends up."""
        with self._lock:
            current = self.get_request(request_id)
            require(by, APPROVE_PERMISSION[current.kind])
            if current.status is RequestStatus.APPROVED and not current.is_role_change:
                # Approved, but the process stopped before the outcome was recorded: the
                # approver approving again carries it out (or records why it cannot be).
                if by.name != current.decided_by:
                    raise Conflict(
                        f"request {request_id} was approved by {current.decided_by}; "
                        "only they can complete it"
                    )
                return self._execute(current)

            def decide(work: IdentityUnitOfWork, now: datetime) -> ChangeRequest:
                request = work.require_request(request_id)
                work.decide(request, lambda: request.approve(by.name, now))
                if request.is_role_change and request.status is RequestStatus.APPROVED:
                    self._change_roles(work, request, now)
                return request

            request = self._run(decide)
            if request.is_role_change or request.status is not RequestStatus.APPROVED:
                return request
            return self._execute(request)

    def _change_roles(
        self, work: IdentityUnitOfWork, request: ChangeRequest, now: datetime
    ) -> None:
        role = request.params["role"]
        user = work.user(request.subject)
        if user is None:
            request.record_failure(now, f"user {request.subject} is not registered")
            return
        try:
            if request.kind is ChangeKind.GRANT_ROLE:
                user.grant_role(role, request.id)
                outcome = f"granted {role} to {user.name}"
            else:
                user.revoke_role(role, request.id)
                outcome = f"revoked {role} from {user.name}"
        except IdentityError as error:
            request.record_failure(now, str(error))
            return
        request.record_execution(now, outcome)

    def _execute(self, request: ChangeRequest) -> ChangeRequest:
        executor = self.executor
        try:
            if executor is None:
                raise InvalidCommand(f"{request.kind.value} cannot be carried out here")
            outcome = executor.execute(
                request.kind.value,
                request.subject,
                dict(request.params),
                request_id=str(request.id),
            )
            failure = None
        except ApplicationError as error:
            outcome, failure = "", str(error)

        def record(work: IdentityUnitOfWork, now: datetime) -> ChangeRequest:
            current = work.require_request(request.id)
            if current.status is not RequestStatus.APPROVED:
                # Another execution of the same request (a second approve on another
                # replica) recorded the outcome first; the executor is idempotent per
                # request, so a success here is the same change, not a second one.
                if failure is None and current.status is not RequestStatus.EXECUTED:
                    raise Conflict(
                        f"request {request.id} was carried out here but recorded as "
                        f"{current.status.value} by another process: {current.reason}"
                    )
                return current
            if failure is None:
                current.record_execution(now, outcome)
            else:
                current.record_failure(now, failure)
            return current

        return self._run(record)

    def reject(self, request_id: UUID, reason: str, by: Requester) -> ChangeRequest:
        """Reject (a checker) or withdraw (the requester, who needs no approval right)."""
        kind = self.get_request(request_id).kind

        def decide(work: IdentityUnitOfWork, now: datetime) -> ChangeRequest:
            request = work.require_request(request_id)
            if by.name != request.requested_by:
                require(by, APPROVE_PERMISSION[kind])
            work.decide(request, lambda: request.reject(by.name, reason, now))
            return request

        return self._run(decide)

    def expire_due(self, now: datetime | None = None) -> int:
        """Mark every PENDING request whose expiry is at or before ``now`` as EXPIRED."""

        def sweep(work: IdentityUnitOfWork, clock_now: datetime) -> int:
            at = now or clock_now
            index = work.index()
            count = 0
            for request_id in index.due(at):
                request = work.request(request_id)
                if request is not None and request.status is RequestStatus.PENDING:
                    request.expire(at)
                    count += 1
                index.remove(request_id)
            return count

        return self._run(sweep)

    # -- plumbing --------------------------------------------------------------------

    def _run(self, use_case: Callable[[IdentityUnitOfWork, datetime], T]) -> T:
        """One unit of work: fresh reads, the use case, one save; retried on conflicts.

        Domain refusals become application errors; a decision that found its request
        expired saves the ``Expired`` event and then raises
        :class:`~application.errors.Expired`.
        """

        def attempt(work: IdentityUnitOfWork, now: datetime) -> T:
            try:
                return use_case(work, now)
            except SelfApproval as error:
                raise Refused(str(error)) from None
            except (InvalidUserName, UnknownRole, InvalidRequest) as error:
                raise InvalidCommand(str(error)) from None
            except IdentityError as error:
                raise Conflict(str(error)) from None

        return unit_of_work.run(
            lambda _attempt: IdentityUnitOfWork(self), attempt, lock=self._lock, clock=self.clock
        )
