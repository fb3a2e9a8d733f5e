"""The ``identity`` projection: backoffice users and maker-checker change requests.

* ``rm_users``: one row per user: name, display name, status, the roles held now.
* ``rm_change_requests``: one row per request: what it changes, who asked and when, its
  expiry, who decided and when, and how it ended (outcome or reason).

Rows come from the identity context's events only (the pending-request index's events
are skipped), so a rebuild writes exactly what incremental processing wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    String,
    Table,
    Text,
    and_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from domain.identity.requests import ChangeRequest
from domain.identity.users import BackofficeUser
from projections import cursors
from projections.base import Projection, ProjectionError, chunked, insert_rows, update_by_key
from projections.events import Envelope, as_utc, json_safe
from projections.paging import before, fetch_page
from projections.tables import ID, JsonDoc, UtcDateTime, metadata
from projections.views import Page

rm_users = Table(
    "rm_users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("display_name", Text, nullable=False),
    Column("status", String(16), nullable=False),  # ACTIVE | SUSPENDED
    Column("roles", JsonDoc, nullable=False),  # sorted list of role names
    Column("registered_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_rm_users_status_name", "status", "name"),
)

rm_change_requests = Table(
    "rm_change_requests",
    metadata,
    Column("id", ID, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subject", Text, nullable=False),
    Column("params", JsonDoc, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("decided_by", Text),
    Column("decided_at", UtcDateTime),
    Column("outcome", Text),
    Column("reason", Text),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_rm_change_requests_status", "status", "requested_at", "id"),
    Index("ix_rm_change_requests_requested", "requested_at", "id"),
)


class IdentityProjection(Projection):
    name = "identity"
    tables = (rm_users, rm_change_requests)

    def apply(self, conn: Connection, envelopes: Sequence[Envelope]) -> None:
        users = [e for e in envelopes if isinstance(e.event, BackofficeUser.Event)]
        requests = [e for e in envelopes if isinstance(e.event, ChangeRequest.Event)]
        if users:
            self._apply(conn, rm_users, users, _apply_user)
        if requests:
            self._apply(conn, rm_change_requests, requests, _apply_request)

    def _apply(
        self,
        conn: Connection,
        table: Table,
        envelopes: Sequence[Envelope],
        fold: Any,
    ) -> None:
        ids = sorted({e.stream_id for e in envelopes})
        rows: dict[str, dict[str, Any]] = {}
        for chunk in chunked(ids):
            for row in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings():
                rows[row["id"]] = dict(row)
        existing = set(rows)
        for envelope in envelopes:
            try:
                fold(rows, envelope)
            except Exception as error:
                raise ProjectionError(self.name, envelope, error) from error
        insert_rows(conn, table, [row for key, row in rows.items() if key not in existing])
        update_by_key(conn, table, "id", [rows[key] for key in existing])


def _apply_user(rows: dict[str, dict[str, Any]], envelope: Envelope) -> None:
    event: Any = envelope.event
    kind = envelope.kind
    at = envelope.recorded_at
    key = envelope.stream_id
    if kind == "Registered":
        rows[key] = {
            "id": key,
            "name": event.name,
            "display_name": event.display_name,
            "status": "ACTIVE",
            "roles": [],
            "registered_at": at,
            "updated_at": at,
        }
        return
    row = rows[key]
    roles = set(row["roles"])
    if kind == "RoleGranted":
        roles.add(event.role)
    elif kind == "RoleRevoked":
        roles.discard(event.role)
    elif kind == "Suspended":
        row["status"] = "SUSPENDED"
    elif kind == "Reactivated":
        row["status"] = "ACTIVE"
    row["roles"] = sorted(roles)
    row["updated_at"] = at


def _apply_request(rows: dict[str, dict[str, Any]], envelope: Envelope) -> None:
    event: Any = envelope.event
    kind = envelope.kind
    at = envelope.recorded_at
    key = envelope.stream_id
    if kind == "Requested":
        rows[key] = {
            "id": key,
            "kind": str(event.kind),
            "subject": event.subject,
            "params": json_safe(dict(event.params)),
            "status": "PENDING",
            "requested_by": event.requested_by,
            "requested_at": as_utc(event.requested_at),
            "expires_at": as_utc(event.expires_at),
            "decided_by": None,
            "decided_at": None,
            "outcome": None,
            "reason": None,
            "updated_at": at,
        }
        return
    row = rows[key]
    if kind == "Approved":
        row.update(status="APPROVED", decided_by=event.approver, decided_at=as_utc(event.at))
    elif kind == "Rejected":
        row.update(
            status="REJECTED", decided_by=event.by, decided_at=as_utc(event.at), reason=event.reason
        )
    elif kind == "Expired":
        row.update(status="EXPIRED", decided_at=as_utc(event.at))
    elif kind == "Executed":
        row.update(status="EXECUTED", outcome=event.outcome)
    elif kind == "ExecutionFailed":
        row.update(status="FAILED", reason=event.reason)
    row["updated_at"] = at


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class UserView:
    id: str
    name: str
    display_name: str
    status: str
    roles: list[str]
    registered_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ChangeRequestView:
    id: str
    kind: str
    subject: str
    status: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    params: dict[str, str] = field(default_factory=dict)
    decided_by: str | None = None
    decided_at: datetime | None = None
    outcome: str | None = None
    reason: str | None = None
    updated_at: datetime | None = None


USER_STATUSES = ("ACTIVE", "SUSPENDED")
REQUEST_STATUSES = ("PENDING", "APPROVED", "EXECUTED", "FAILED", "REJECTED", "EXPIRED")


class IdentityQueries:
    """Reads of the identity read models (never the event store)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def user(self, name: str) -> UserView | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(rm_users).where(rm_users.c.name == name)).mappings().first()
        return _user_view(row) if row is not None else None

    def users(self, status: str | None, limit: int, after: str | None) -> Page[UserView]:
        """Users in name order, optionally of one status; keyset pages."""
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(rm_users.c.status == status)
        if after is not None:
            (last,) = cursors.decode(after, "user", str)
            conditions.append(rm_users.c.name > last)
        query = select(rm_users).where(and_(True, *conditions)).order_by(rm_users.c.name)
        return fetch_page(
            self.engine, query, limit, _user_view, lambda view: cursors.encode("user", view.name)
        )

    def active_users_with_role(self, role: str) -> list[str]:
        """Names of the ACTIVE users holding ``role`` (the console bootstrap asks for admins)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(rm_users.c.name, rm_users.c.roles)
                .where(rm_users.c.status == "ACTIVE")
                .order_by(rm_users.c.name)
            ).all()
        return [name for name, roles in rows if role in (roles or [])]

    def change_request(self, request_id: str) -> ChangeRequestView | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(rm_change_requests).where(rm_change_requests.c.id == request_id)
                )
                .mappings()
                .first()
            )
        return _request_view(row) if row is not None else None

    def change_requests(
        self, status: str | None, limit: int, after: str | None
    ) -> Page[ChangeRequestView]:
        """Requests newest first, optionally of one status; keyset pages."""
        table = rm_change_requests
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(table.c.status == status)
        if after is not None:
            at, last_id = cursors.decode(after, "change-request", datetime, str)
            conditions.append(before(table.c.requested_at, table.c.id, as_utc(at), last_id))
        query = (
            select(table)
            .where(and_(True, *conditions))
            .order_by(table.c.requested_at.desc(), table.c.id.desc())
        )
        return fetch_page(
            self.engine,
            query,
            limit,
            _request_view,
            lambda view: cursors.encode("change-request", view.requested_at, view.id),
        )


def _user_view(row: Mapping[Any, Any]) -> UserView:
    return UserView(
        id=row["id"],
        name=row["name"],
        display_name=row["display_name"],
        status=row["status"],
        roles=list(row["roles"] or []),
        registered_at=as_utc(row["registered_at"]),
        updated_at=as_utc(row["updated_at"]),
    )


def _request_view(row: Mapping[Any, Any]) -> ChangeRequestView:
    decided = row["decided_at"]
    return ChangeRequestView(
        id=row["id"],
        kind=row["kind"],
        subject=row["subject"],
        status=row["status"],
        requested_by=row["requested_by"],
        requested_at=as_utc(row["requested_at"]),
        expires_at=as_utc(row["expires_at"]),
        params=dict(row["params"] or {}),
        decided_by=row["decided_by"],
        decided_at=as_utc(decided) if decided is not None else None,
        outcome=row["outcome"],
        reason=row["reason"],
        updated_at=as_utc(row["updated_at"]),
    )
