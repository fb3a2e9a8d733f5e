"""GraphQL for the identity context: users, roles, and maker-checker change requests.

``Query`` and ``Mutation`` in ``schema.py`` inherit :class:`IdentityQuery` and
:class:`IdentityMutation`. Sensitive changes are requests that a second person approves:
role grants and revokes, account freezes and unfreezes, and reversals (above the threshold
``reverseTransaction`` answers ``APPROVAL_REQUIRED``). Every resolver authorizes first;
deciding on a request then also needs the approval permission of the request's kind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from api.graphql.common import Connection, connection, page_size, paginate
from api.graphql.context import LedgerContext
from api.graphql.errors import bad_input, checked, in_thread, write_through
from api.graphql.ledger import bounded
from api.graphql.ledger_types import HolderTypeInput, IdentifierInput
from api.presentation import account_key, check_holder_name, holder_details_of, transaction_uuid
from api.security import Permission
from application.errors import InvalidCommand
from application.identity.app import IdentityApplication
from application.identity.principals import Requester, UserEntry
from application.ledger.changes import holder_params
from domain.identity.permissions import APPROVE_PERMISSION, ChangeKind
from domain.identity.requests import ChangeRequest as ChangeRequestAggregate
from domain.identity.users import BackofficeUser
from projections.identity.read_model import ChangeRequestView, UserView

Info = strawberry.Info[LedgerContext, None]


@strawberry.enum(description="Whether a user may act (SUSPENDED: no permissions at all)")
class UserStatus(Enum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


@strawberry.enum(description="PENDING -> APPROVED -> EXECUTED | FAILED; or REJECTED, EXPIRED")
class ChangeRequestStatus(Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    EXECUTED = "EXECUTED"
    FAILED = "FAILED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


@strawberry.enum(description="The sensitive changes that need a maker and a different checker")
class ChangeRequestKind(Enum):
    GRANT_ROLE = "GRANT_ROLE"
    REVOKE_ROLE = "REVOKE_ROLE"
    FREEZE_ACCOUNT = "FREEZE_ACCOUNT"
    UNFREEZE_ACCOUNT = "UNFREEZE_ACCOUNT"
    REVERSE_TRANSACTION = "REVERSE_TRANSACTION"
    SET_OVERDRAFT_LIMIT = "SET_OVERDRAFT_LIMIT"
    SET_HOLDER_DETAILS = "SET_HOLDER_DETAILS"


@strawberry.type(description="A backoffice user and the roles granted to them")
class User:
    name: str
    display_name: str
    status: UserStatus
    roles: list[str]
    registered_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, view: UserView) -> User:
        return cls(
            name=view.name,
            display_name=view.display_name,
            status=UserStatus(view.status),
            roles=sorted(view.roles),
            registered_at=view.registered_at,
            updated_at=view.updated_at,
        )

    @classmethod
    def of_user(cls, user: BackofficeUser) -> User:
        return cls(
            name=user.name,
            display_name=user.display_name,
            status=UserStatus(user.status.value),
            roles=sorted(user.roles),
            registered_at=user.created_on,
            updated_at=user.modified_on,
        )


@strawberry.type(description="A maker-checker request: asked by one person, decided by another")
class ChangeRequest:
    id: strawberry.ID
    kind: ChangeRequestKind
    subject: str = strawberry.field(
        description="The user name, account id (IBAN or code) or transaction id it changes"
    )
    params: JSON = strawberry.field(description="role; reason; amount and currency (reversals)")
    status: ChangeRequestStatus
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    outcome: str | None = strawberry.field(description="What the executed change did")
    reason: str | None = strawberry.field(description="Why it was rejected or failed")

    @classmethod
    def of(cls, view: ChangeRequestView) -> ChangeRequest:
        return cls(
            id=strawberry.ID(view.id),
            kind=ChangeRequestKind(view.kind),
            subject=view.subject,
            params=cast(JSON, dict(view.params)),
            status=ChangeRequestStatus(view.status),
            requested_by=view.requested_by,
            requested_at=view.requested_at,
            expires_at=view.expires_at,
            decided_by=view.decided_by,
            decided_at=view.decided_at,
            outcome=view.outcome,
            reason=view.reason,
        )

    @classmethod
    def of_request(cls, request: ChangeRequestAggregate) -> ChangeRequest:
        return cls(
            id=strawberry.ID(str(request.id)),
            kind=ChangeRequestKind(request.kind.value),
            subject=request.subject,
            params=cast(JSON, dict(request.params)),
            status=ChangeRequestStatus(request.status.value),
            requested_by=request.requested_by,
            requested_at=request.requested_at,
            expires_at=request.expires_at,
            decided_by=request.decided_by,
            decided_at=request.decided_at,
            outcome=request.outcome,
            reason=request.reason,
        )


def requester(info: Info) -> Requester:
    """The caller as the application sees it: principal name and permissions."""
    principal = info.context.principal
    return Requester(name=principal.name, permissions=principal.permissions)


def _request_uuid(raw: str) -> UUID:
    try:
        return UUID(raw.strip())
    except (ValueError, AttributeError):
        raise InvalidCommand(f"change request id: {raw!r} is not a UUID") from None


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise bad_input("reason: must not be empty")
    return text


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="Backoffice users in name order (keyset pagination)")
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        status: UserStatus | None = None,
    ) -> Connection[User]:
        info.context.authorize(Permission.USERS_READ)
        queries = info.context.container.identity_queries
        wanted = status.value if status is not None else None
        page = await in_thread(paginate, queries.users, wanted, page_size(first), after=after)
        return connection(page, User.of)

    @strawberry.field(description="A backoffice user by name")
    async def user(self, info: Info, name: str) -> User | None:
        info.context.authorize(Permission.USERS_READ)
        view = await in_thread(info.context.container.identity_queries.user, name.strip().lower())
        return User.of(view) if view is not None else None

    @strawberry.field(description="Maker-checker requests, newest first (keyset pagination)")
    async def change_requests(
        self,
        info: Info,
        status: ChangeRequestStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ChangeRequest]:
        info.context.authorize(Permission.REQUESTS_READ)
        queries = info.context.container.identity_queries
        wanted = status.value if status is not None else None
        page = await in_thread(
            paginate, queries.change_requests, wanted, page_size(first), after=after
        )
        return connection(page, ChangeRequest.of)

    @strawberry.field(description="One maker-checker request by id")
    async def change_request(self, info: Info, id: strawberry.ID) -> ChangeRequest | None:
        info.context.authorize(Permission.REQUESTS_READ)
        request_id = str(checked(_request_uuid, str(id)))
        view = await in_thread(info.context.container.identity_queries.change_request, request_id)
        return ChangeRequest.of(view) if view is not None else None


async def _make_request(
    info: Info, kind: ChangeKind, subject: str, params: dict[str, str]
) -> ChangeRequest:
    identity = info.context.container.identity
    who = requester(info)
    request = await write_through(info, lambda: identity.request_change(kind, subject, params, who))
    return ChangeRequest.of_request(request)


async def _change_user(
    info: Info, change: Callable[[IdentityApplication, Requester], UserEntry]
) -> User:
    """Run ``change`` as the caller (read-your-writes) and answer the user as it now is."""
    identity = info.context.container.identity
    who = requester(info)

    def run() -> BackofficeUser:
        return identity.get_user(change(identity, who).name)

    return User.of_user(await write_through(info, run))


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Register a backoffice user (no roles yet)")
    async def register_user(self, info: Info, name: str, display_name: str | None = None) -> User:
        info.context.authorize(Permission.USERS_MANAGE)
        return await _change_user(info, lambda app, who: app.register_user(name, display_name, who))

    @strawberry.mutation(description="Suspend a user: every permission is gone until reactivated")
    async def suspend_user(self, info: Info, name: str, reason: str) -> User:
        info.context.authorize(Permission.USERS_MANAGE)
        why = _reason(reason)
        return await _change_user(info, lambda app, who: app.suspend_user(name, why, who))

    @strawberry.mutation(description="Reactivate a suspended user")
    async def reactivate_user(self, info: Info, name: str, reason: str) -> User:
        info.context.authorize(Permission.USERS_MANAGE)
        why = _reason(reason)
        return await _change_user(info, lambda app, who: app.reactivate_user(name, why, who))

    @strawberry.mutation(description="Ask for a role to be granted; a second person approves")
    async def request_role_grant(self, info: Info, user: str, role: str) -> ChangeRequest:
        info.context.authorize(Permission.USERS_MANAGE)
        return await _make_request(info, ChangeKind.GRANT_ROLE, user, {"role": role.strip()})

    @strawberry.mutation(description="Ask for a role to be revoked; a second person approves")
    async def request_role_revoke(self, info: Info, user: str, role: str) -> ChangeRequest:
        info.context.authorize(Permission.USERS_MANAGE)
        return await _make_request(info, ChangeKind.REVOKE_ROLE, user, {"role": role.strip()})

    @strawberry.mutation(description="Ask for an account freeze (debits blocked) on approval")
    async def request_account_freeze(self, info: Info, id: str, reason: str) -> ChangeRequest:
        info.context.authorize(Permission.ACCOUNTS_FREEZE)
        key = checked(account_key, id)
        return await _make_request(
            info, ChangeKind.FREEZE_ACCOUNT, key, {"reason": _reason(reason)}
        )

    @strawberry.mutation(description="Ask for a freeze to be lifted on approval")
    async def request_account_unfreeze(self, info: Info, id: str, reason: str) -> ChangeRequest:
        info.context.authorize(Permission.ACCOUNTS_FREEZE)
        key = checked(account_key, id)
        return await _make_request(
            info, ChangeKind.UNFREEZE_ACCOUNT, key, {"reason": _reason(reason)}
        )

    @strawberry.mutation(
        description="Ask for an account's overdraft limit to be set on approval (any limit; "
        "above LEDGER_OVERDRAFT_APPROVAL_ABOVE this is the only way)"
    )
    async def request_overdraft_limit(
        self, info: Info, id: str, limit: str, reason: str
    ) -> ChangeRequest:
        info.context.authorize(Permission.ACCOUNTS_WRITE)
        key = checked(account_key, id)
        params = {"limit": limit.strip(), "reason": _reason(reason)}
        return await _make_request(info, ChangeKind.SET_OVERDRAFT_LIMIT, key, params)

    @strawberry.mutation(
        description="Ask for an account's holder name and details (type, joint holders, "
        "trading names, identifiers) to be set on approval; they replace the current ones"
    )
    async def request_holder_details_change(
        self,
        info: Info,
        id: str,
        holder_name: str,
        reason: str,
        holder_type: HolderTypeInput | None = None,
        further_names: list[str] | None = None,
        identifiers: list[IdentifierInput] | None = None,
    ) -> ChangeRequest:
        info.context.authorize(Permission.ACCOUNTS_WRITE)
        key = checked(account_key, id)
        name = checked(check_holder_name, holder_name)
        holder = checked(
            holder_details_of,
            holder_type.value if holder_type is not None else None,
            bounded(further_names, "furtherNames"),
            [(i.scheme.value, i.value) for i in bounded(identifiers, "identifiers")],
        )
        params = {**holder_params(name, holder), "reason": _reason(reason)}
        return await _make_request(info, ChangeKind.SET_HOLDER_DETAILS, key, params)

    @strawberry.mutation(
        description="Ask for a posted transaction to be reversed on approval (any amount; "
        "above the approval threshold this is the only way)"
    )
    async def request_reversal(self, info: Info, id: strawberry.ID, reason: str) -> ChangeRequest:
        info.context.authorize(Permission.TRANSACTIONS_REVERSE)
        tx_id = checked(transaction_uuid, str(id))
        return await _make_request(
            info, ChangeKind.REVERSE_TRANSACTION, str(tx_id), {"reason": _reason(reason)}
        )

    @strawberry.mutation(
        description="Approve someone else's request and carry it out; needs the approval "
        "permission of its kind (users:approve, accounts:approve, transactions:approve)"
    )
    async def approve_change_request(self, info: Info, id: strawberry.ID) -> ChangeRequest:
        info.context.authorize(Permission.REQUESTS_READ)
        request_id = checked(_request_uuid, str(id))
        identity = info.context.container.identity
        current = await in_thread(identity.get_request, request_id)
        info.context.authorize(APPROVE_PERMISSION[current.kind])
        who = requester(info)
        request = await write_through(info, lambda: identity.approve(request_id, who))
        return ChangeRequest.of_request(request)

    @strawberry.mutation(
        description="Reject a request (its checker), or withdraw it (its requester)"
    )
    async def reject_change_request(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> ChangeRequest:
        info.context.authorize(Permission.REQUESTS_READ)
        request_id = checked(_request_uuid, str(id))
        why = _reason(reason)
        identity = info.context.container.identity
        who = requester(info)
        request = await write_through(info, lambda: identity.reject(request_id, why, who))
        return ChangeRequest.of_request(request)


__all__ = ["ChangeRequest", "IdentityMutation", "IdentityQuery", "User", "requester"]
