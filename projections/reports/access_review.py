"""Access review as of T, from the identity context's events in the audit trail
(``rm_audit_events``): first who held which role at T (``holding`` rows: since when, granted
by whom, on which maker-checker request; the user's status then), then every access change
recorded on a date of the period (``change`` rows: registrations, grants, revocations,
suspensions, and each change request with its decision: requested, approved, rejected,
expired, executed).

The identity log is read by its primary key (context, position) in chunks, keeping only
events recorded at or before T; the holdings are folded in memory (users times roles, a
backoffice's staff, not a book of accounts).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from projections.audit.trail import rm_audit_events
from projections.reports.common import Key, Row, day_start

CHUNK = 2000
KEY_TYPES = (int, int, str, str)
HOLDING, CHANGE = 0, 1
_AU = rm_audit_events
_USER_EVENTS = {"Registered", "RoleGranted", "RoleRevoked", "Suspended", "Reactivated"}
_REQUEST_EVENTS = {"Requested", "Approved", "Rejected", "Expired", "Executed", "ExecutionFailed"}


def _events(engine: Engine, as_of: datetime) -> Iterator[Any]:
    position = 0
    while True:
        query = (
            select(_AU.c.position, _AU.c.recorded_at, _AU.c.stream_id, _AU.c.event_type)
            .add_columns(_AU.c.actor, _AU.c.payload)
            .where(_AU.c.context == "identity", _AU.c.position > position)
            .order_by(_AU.c.position)
            .limit(CHUNK)
        )
        with engine.connect() as conn:
            found = conn.execute(query).all()
        for row in found:
            if row.recorded_at <= as_of:
                yield row
        if len(found) < CHUNK:
            return
        position = found[-1].position


def rows(
    engine: Engine, params: dict[str, Any], as_of: datetime, resume: Key | None
) -> Iterator[Row]:
    """The review's rows after ``resume`` ((section, position, user, role))."""
    names: dict[str, str] = {}
    status: dict[str, str] = {}
    held: dict[str, dict[str, tuple[datetime, str, str | None]]] = {}
    subjects: dict[str, str] = {}  # change request id -> its subject
    for event in _events(engine, as_of):
        kind = event.event_type.rsplit(".", 1)[-1]
        payload = event.payload or {}
        if event.event_type.startswith("BackofficeUser."):
            user = event.stream_id
            if kind == "Registered":
                names[user] = str(payload.get("name", user))
                status[user] = "ACTIVE"
            elif kind == "RoleGranted":
                held.setdefault(user, {})[payload["role"]] = (
                    event.recorded_at,
                    event.actor,
                    payload.get("request_id"),
                )
            elif kind == "RoleRevoked":
                held.get(user, {}).pop(payload["role"], None)
            elif kind == "Suspended":
                status[user] = "SUSPENDED"
            elif kind == "Reactivated":
                status[user] = "ACTIVE"
    holdings = sorted(
        (names.get(user, user), role, since, actor, request, status.get(user, "ACTIVE"))
        for user, roles in held.items()
        for role, (since, actor, request) in roles.items()
    )
    for name, role, since, actor, request, state in holdings:
        key = (HOLDING, 0, name, role)
        if resume is None or key > resume:
            yield key, ("holding", since, name, role, "held", actor, request, state)

    low = day_start(params["from"])
    high = day_start(params["to"] + timedelta(days=1))
    for event in _events(engine, as_of):
        if not low <= event.recorded_at < high:
            continue
        kind = event.event_type.rsplit(".", 1)[-1]
        payload = event.payload or {}
        key = (CHANGE, int(event.position), "", "")
        if event.event_type.startswith("BackofficeUser.") and kind in _USER_EVENTS:
            user = names.get(event.stream_id, event.stream_id)
            changed: Any = payload.get("role")
            detail = payload.get("reason") or payload.get("display_name")
            request = payload.get("request_id")
        elif event.event_type.startswith("ChangeRequest.") and kind in _REQUEST_EVENTS:
            if kind == "Requested":
                subjects[event.stream_id] = str(payload.get("subject", ""))
            user = subjects.get(event.stream_id, "")
            params_of = payload.get("params") or {}
            changed = params_of.get("role") if isinstance(params_of, dict) else None
            detail = payload.get("kind") or payload.get("reason") or payload.get("outcome")
            request = event.stream_id
        else:
            continue
        if resume is None or key > resume:
            yield (
                key,
                (
                    "change",
                    event.recorded_at,
                    user,
                    changed,
                    event.event_type,
                    event.actor,
                    request,
                    None if detail is None else str(detail),
                ),
            )
