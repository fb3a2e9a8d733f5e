"""The identity context's unit of work: the shared one, with typed finders for users,
change requests and the pending index, and the decision of a request that may find it
expired (the ``Expired`` event is saved, then :class:`~application.errors.Expired` raised).
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from eventsourcing.application import Application

from application.errors import Expired, NotFound
from application.identity.principals import bare_name
from application.unit_of_work import UnitOfWork
from domain.identity.errors import RequestExpired
from domain.identity.requests import ChangeRequest, PendingRequests, RequestStatus
from domain.identity.users import BackofficeUser, user_id


class IdentityUnitOfWork(UnitOfWork):
    """The users, change requests and pending index one identity use case touched."""

    def __init__(self, app: Application[UUID]) -> None:
        super().__init__(app)
        self.expired: str | None = None
        """Set when a decision found its request expired (see :meth:`decide`)."""

    def user(self, name: str) -> BackofficeUser | None:
        user = self.get(user_id(name))
        return user if isinstance(user, BackofficeUser) else None

    def require_user(self, name: str) -> BackofficeUser:
        user = self.user(name)
        if user is None:
            raise NotFound(f"no user {bare_name(name)}")
        return user

    def request(self, request_id: UUID) -> ChangeRequest | None:
        request = self.get(request_id)
        return request if isinstance(request, ChangeRequest) else None

    def require_request(self, request_id: UUID) -> ChangeRequest:
        request = self.request(request_id)
        if request is None:
            raise NotFound(f"no change request {request_id}")
        return request

    def index(self) -> PendingRequests:
        index = self.get(PendingRequests.create_id())
        if not isinstance(index, PendingRequests):
            index = PendingRequests()
            self.add(index)
        return index

    def decide(self, request: ChangeRequest, decision: Callable[[], None]) -> None:
        """Run ``decision`` on a PENDING request and take it out of the pending index;
        a decision that finds it expired keeps the ``Expired`` event for the commit."""
        try:
            decision()
        except RequestExpired as error:
            self.expired = str(error)
        if request.status is not RequestStatus.PENDING:
            self.index().remove(request.id)

    def succeeded(self) -> None:
        """After the commit: a decision that found its request expired raises now."""
        if self.expired is not None:
            raise Expired(self.expired)
