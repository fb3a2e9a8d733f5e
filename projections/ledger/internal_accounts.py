"""Internal accounts in the ``accounts`` projection: their rows come from transactions' legs.

A payment never writes an internal account's aggregate (``clearing:<CCY>`` would be a hot
spot every writer version-checks); its leg is in the transaction's ``Posted`` event, and
that is the one source of an internal account's balance, in new logs and old ones alike:
the ``Debited``/``Credited`` events that older code also wrote on the internal aggregate
are ignored, so no leg counts twice. The aggregate's other events (``Opened``; holds of
old logs) still make rows.

Each row of an internal account (``rm_account_history``, and ``rm_postings`` for a leg) has
a ``version`` that is the account's row sequence in log order. Writers no longer serialise
on the account, so its legs may reach the log out of ``recorded_at`` order (a unit recorded
at 10:00:00.001 may commit after one recorded at 10:00:00.002). "As of T" reads the latest
row by ``(recorded_at, version)``, so the rows are kept cumulative in that order: a row that
arrives late is placed by its ``recorded_at``, and the cumulative columns of the stored rows
after it are moved by its amounts (:func:`resolve`). That window is a commit's latency, a
few rows; a row in order (the usual case) costs no read. The result depends only on the
log, so a rebuild writes the rows incremental processing wrote, and the trial balance as
of any instant sums to zero per currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, update

from domain.ledger.accounts import parse_internal_code
from projections.ledger.tables import rm_account_history, rm_postings

NUMBERS = ("balance", "held", "debits_total", "credits_total")
"""The cumulative columns of an account's row."""
_STATIC = ("key", "iban", "holder_name", "currency", "status", "type", "overdraft_limit")
_ZERO = Decimal(0)
_H = rm_account_history
_P = rm_postings


def numbers(row: Any) -> dict[str, Decimal]:
    return {column: Decimal(row[column]) for column in NUMBERS}


def synthesized(account_id: str, key: str, recorded_at: datetime) -> dict[str, Any]:
    """The state of an internal account whose first leg precedes its ``Opened`` event in the
    log (older code opened ``clearing:<CCY>`` in the unit of the first payment, after the
    transaction's events); the ``Opened`` event that follows adds nothing."""
    kind, currency = parse_internal_code(key)
    return {
        "id": account_id,
        "key": key,
        "iban": None,
        "holder_name": f"{kind} account {currency}",
        "currency": currency,
        "status": "OPEN",
        "type": "INTERNAL",
        "balance": _ZERO,
        "held": _ZERO,
        "overdraft_limit": None,
        "debits_total": _ZERO,
        "credits_total": _ZERO,
        "opened_at": recorded_at,
        "updated_at": recorded_at,
        "version": 0,
    }


@dataclass
class NewRow:
    """A row a batch adds to an internal account: what changed, not the totals yet."""

    seq: int
    recorded_at: datetime
    event_type: str
    deltas: dict[str, Decimal]
    posting: dict[str, Any] | None  # transaction_id, amount, booking_date for a leg


@dataclass
class Pending:
    """One internal account's rows of a batch, and where it stood before the batch."""

    start: dict[str, Decimal]  # the cumulative columns before the batch
    stored_until: datetime | None  # latest recorded_at stored before the batch (None: new)
    rows: list[NewRow] = field(default_factory=list)


@dataclass
class Resolved:
    """What a batch writes for internal accounts."""

    history: list[dict[str, Any]] = field(default_factory=list)
    postings: list[dict[str, Any]] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)  # stored rows shifted


def add_row(
    pending: dict[str, Pending],
    state: dict[str, Any],
    stored_until: datetime | None,
    row: tuple[datetime, str, dict[str, Decimal], dict[str, Any] | None],
) -> None:
    """Apply a row's deltas to ``state`` (the account now) and queue the row."""
    recorded_at, event_type, deltas, posting = row
    entry = pending.get(state["id"])
    if entry is None:
        entry = pending[state["id"]] = Pending(numbers(state), stored_until)
    for column, delta in deltas.items():
        state[column] += delta
    state["version"] += 1
    state["updated_at"] = max(state["updated_at"], recorded_at)
    entry.rows.append(NewRow(state["version"], recorded_at, event_type, deltas, posting))


def resolve(
    conn: Connection, pending: dict[str, Pending], states: dict[str, dict[str, Any]]
) -> Resolved:
    """The rows of every internal account of the batch, cumulative in ``(recorded_at,
    version)`` order, and the stored rows a late one moves."""
    out = Resolved()
    for account_id, entry in sorted(pending.items()):
        _resolve_one(conn, account_id, entry, states[account_id], out)
    return out


def _resolve_one(
    conn: Connection, account_id: str, entry: Pending, state: dict[str, Any], out: Resolved
) -> None:
    new = sorted(entry.rows, key=lambda r: (r.recorded_at, r.seq))
    earliest = new[0].recorded_at
    stored: list[dict[str, Any]] = []
    base = entry.start
    if entry.stored_until is not None and earliest < entry.stored_until:
        stored = [
            dict(row)
            for row in conn.execute(
                select(_H)
                .where(_H.c.account_id == account_id, _H.c.recorded_at > earliest)
                .order_by(_H.c.recorded_at, _H.c.version)
            ).mappings()
        ]
        before = (
            conn.execute(
                select(_H)
                .where(_H.c.account_id == account_id, _H.c.recorded_at <= earliest)
                .order_by(_H.c.recorded_at.desc(), _H.c.version.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        base = numbers(before) if before is not None else dict.fromkeys(NUMBERS, _ZERO)
    merged: list[tuple[datetime, int, dict[str, Any] | NewRow]] = [
        (row["recorded_at"], row["version"], row) for row in stored
    ]
    merged += [(row.recorded_at, row.seq, row) for row in new]
    merged.sort(key=lambda item: (item[0], item[1]))
    running = dict(base)
    previous = dict(base)  # the stored cumulative columns of the last stored row passed
    for _, _, row in merged:
        if isinstance(row, NewRow):
            for column, delta in row.deltas.items():
                running[column] += delta
            out.history.append(_history_row(state, row, running))
            if row.posting is not None:
                out.postings.append(_posting_row(state, row, running["balance"]))
            continue
        was = numbers(row)
        for column in NUMBERS:
            running[column] += was[column] - previous[column]
        previous = was
        if running != was:
            out.moved.append({"b_account": account_id, "b_version": row["version"], **running})


def _history_row(state: dict[str, Any], row: NewRow, running: dict[str, Decimal]) -> dict[str, Any]:
    return {
        "account_id": state["id"],
        "version": row.seq,
        "recorded_at": row.recorded_at,
        "event_type": row.event_type,
        **{column: state[column] for column in _STATIC},
        "opened_at": state["opened_at"],
        **running,
    }


def _posting_row(state: dict[str, Any], row: NewRow, balance: Decimal) -> dict[str, Any]:
    assert row.posting is not None
    return {
        "account_id": state["id"],
        "version": row.seq,
        "account_key": state["key"],
        "transaction_id": row.posting["transaction_id"],
        "amount": row.posting["amount"],
        "balance_after": balance,
        "currency": state["currency"],
        "booking_date": row.posting["booking_date"],
        "recorded_at": row.recorded_at,
    }


def write_moved(conn: Connection, moved: list[dict[str, Any]]) -> None:
    """Shift the stored rows a late row moved (history, and the posting of the same version)."""
    if not moved:
        return
    key = and_(_H.c.account_id == bindparam("b_account"), _H.c.version == bindparam("b_version"))
    conn.execute(update(_H).where(key), moved)
    postings = [
        {"b_account": m["b_account"], "b_version": m["b_version"], "balance_after": m["balance"]}
        for m in moved
    ]
    key = and_(_P.c.account_id == bindparam("b_account"), _P.c.version == bindparam("b_version"))
    conn.execute(update(_P).where(key), postings)
