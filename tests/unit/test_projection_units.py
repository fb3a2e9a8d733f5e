"""Projection building blocks without an event store: cursors, JSON-safe payloads,
column types, key normalisation, envelopes, and the accounts projection on its own."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, Table, create_engine, insert, select

from domain.causation import Causation, caused_by, recording_at
from domain.iban import Iban
from domain.ledger.accounts import Account
from domain.ledger.ids import account_id
from projections import cursors
from projections.base import ProjectionError
from projections.events import Envelope, json_safe, quantize
from projections.ledger.account_queries import normalise_key
from projections.ledger.accounts import AccountsProjection
from projections.ledger.tables import rm_accounts
from projections.paging import clamp
from projections.tables import Amount, SortableAmount, UtcDateTime, metadata

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
SQLITE = create_engine("sqlite://").dialect


# ------------------------------------------------------------------------------ cursors


@given(
    key=st.text(st.characters(min_codepoint=32, exclude_categories=("Cs",)), max_size=40),
    at=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
    ),
    number=st.integers(min_value=0, max_value=2**63 - 1),
)
def test_cursors_round_trip(key: str, at: datetime, number: int) -> None:
    cursor = cursors.encode("x", at, key, number)
    assert cursors.decode(cursor, "x", datetime, str, int) == [at, key, number]
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "bm9wZQ", cursors.encode("y", "k"), cursors.encode("x", 1), "WyJ4Il0"],
)
def test_invalid_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="invalid cursor"):
        cursors.decode(cursor, "x", str)


def test_a_cursor_with_a_bad_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid cursor"):
        cursors.decode(cursors.encode("x", "not a time"), "x", datetime)


@pytest.mark.parametrize(
    ("values", "types"),
    [
        ((2**70,), (int,)),  # a version no 64-bit column holds (issue #12 item 6)
        ((2**63,), (int,)),
        ((-1,), (int,)),
        (("0001-01-01T00:00:00+01:00",), (datetime,)),  # no UTC form
        (("9999-12-31T23:59:59-01:00",), (datetime,)),
        (("1066-10-14T09:00:00+00:00",), (datetime,)),
        (("a\x00b",), (str,)),  # PostgreSQL refuses NUL in text
        (("x" * 300,), (str,)),
    ],
)
def test_a_cursor_whose_values_no_query_can_take_is_refused(
    values: tuple[object, ...], types: tuple[type, ...]
) -> None:
    raw = base64.urlsafe_b64encode(json.dumps(["x", *values]).encode()).decode()
    with pytest.raises(ValueError, match="invalid cursor"):
        cursors.decode(raw, "x", *types)


def test_an_overlong_or_deeply_nested_cursor_is_refused() -> None:
    deep = base64.urlsafe_b64encode(b"[" * 700 + b"]" * 700).decode()
    for raw in ("A" * 5000, deep):
        with pytest.raises(ValueError, match="invalid cursor"):
            cursors.decode(raw, "x", str)


# ---------------------------------------------------------------------- small helpers


class Colour(Enum):
    RED = "red"


def test_json_safe_payloads() -> None:
    value = {
        "amount": Decimal("125.40"),
        "big": Decimal("1E+3"),
        "id": UUID(int=7),
        "at": datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        "legs": ({"n": 1}, [Colour.RED]),
        "flag": True,
        "none": None,
        "tags": {"b", "a"},
    }
    assert json_safe(value) == {
        "amount": "125.40",
        "big": "1000",
        "id": "00000000-0000-0000-0000-000000000007",
        "at": "2026-01-01T00:00:00+00:00",
        "legs": [{"n": 1}, ["red"]],
        "flag": True,
        "none": None,
        "tags": ["a", "b"],
    }


def test_quantize_clamp_and_key_normalisation() -> None:
    assert str(quantize(Decimal("125.40000000"), "EUR")) == "125.40"
    assert str(quantize(Decimal("5000.00000000"), "JPY")) == "5000"
    assert str(quantize(Decimal("1.5"), "BHD")) == "1.500"
    assert (clamp(0), clamp(-3), clamp(20), clamp(10_000)) == (1, 1, 20, 500)
    assert normalise_key(" de89 3704 0044 0532 0130 00 ") == "DE89370400440532013000"
    assert normalise_key("Clearing:eur") == "clearing:EUR"


# ------------------------------------------------------------------------- column types


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine("sqlite://")
    try:
        yield engine
    finally:
        engine.dispose()


def test_amounts_and_times_round_trip_exactly_on_sqlite(engine: Engine) -> None:
    meta = MetaData()
    table = Table(
        "t",
        meta,
        Column("id", Integer, primary_key=True),
        Column("amount", Amount),
        Column("sortable", SortableAmount),
        Column("at", UtcDateTime),
    )
    meta.create_all(engine)
    huge = Decimal("123456789012345678901234567890.12345678")
    local = datetime(2026, 6, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": 1, "amount": -huge, "sortable": huge, "at": local}])
        conn.execute(
            insert(table),
            [{"id": 2, "amount": Decimal("0.1"), "sortable": Decimal("9.99"), "at": None}],
        )
        row = conn.execute(select(table).where(table.c.id == 1)).one()
        assert row.amount == -huge and row.sortable == huge
        assert row.at == local and row.at.tzinfo == UTC
        # a naive parameter is read as UTC
        naive = local.astimezone(UTC).replace(tzinfo=None)
        assert conn.execute(select(table.c.id).where(table.c.at == naive)).scalar_one() == 1
        assert conn.execute(
            select(table.c.id).where(table.c.sortable > Decimal("10"))
        ).scalars().all() == [1]
        with pytest.raises(Exception, match="must not be negative"):
            conn.execute(insert(table), [{"id": 3, "sortable": Decimal("-1")}])


@given(a=st.decimals(0, 10**20, places=8), b=st.decimals(0, 10**20, places=8))
def test_sortable_amounts_sort_like_numbers(a: Decimal, b: Decimal) -> None:
    sortable = SortableAmount()
    dialect = SQLITE
    stored_a = sortable.process_bind_param(a, dialect)
    stored_b = sortable.process_bind_param(b, dialect)
    assert (stored_a < stored_b) == (a < b)
    assert sortable.process_result_value(stored_a, dialect) == a


# ------------------------------------------------------------------ envelopes and events


CUSTOMER = "DE89370400440532013000"


def account_events() -> list[Envelope]:
    """Events of a customer account (internal accounts are projected from transactions'
    legs: tests/unit/test_internal_account_projection.py)."""
    with caused_by(Causation(actor="user:ann", correlation_id="c1", channel="CLI")):
        with recording_at(T0):
            account = Account.open_customer(Iban(CUSTOMER), "Ann", "EUR", Decimal("0"))
        with recording_at(T0 + timedelta(seconds=1)):
            account.credit(account_id("a"), Decimal("10.00"))
            account.place_hold(account_id("b"), Decimal("4.00"))
        with recording_at(T0 + timedelta(seconds=2)):
            account.debit(account_id("c"), Decimal("2.50"), "2026-05-04")
            account.release_hold(account_id("b"))
            account.place_hold(account_id("d"), Decimal("1.25"))
    return [Envelope("ledger", n, e) for n, e in enumerate(account.collect_events(), start=1)]


def test_envelopes_describe_their_event() -> None:
    opened, credited, *_ = account_events()
    assert opened.event_type == "Account.Opened" and opened.kind == "Opened"
    assert opened.stream_type == "Account" and opened.version == 1
    assert opened.stream_id == str(account_id(CUSTOMER))
    assert credited.recorded_at == T0 + timedelta(seconds=1)
    assert credited.payload() == {
        "transaction_id": str(account_id("a")),
        "amount": "10.00",
    }
    assert opened.payload()["overdraft_limit"] == "0.00"
    assert "actor" not in opened.payload() and "originator_topic" not in opened.payload()


@pytest.mark.parametrize("split", [1, 2, 3, 4, 5, 6])
def test_accounts_projection_gives_the_same_state_however_the_batches_fall(
    engine: Engine, split: int
) -> None:
    metadata.create_all(engine)
    events = account_events()
    projection = AccountsProjection()
    with engine.begin() as conn:
        projection.apply(conn, events[:split])
    with engine.begin() as conn:
        projection.apply(conn, events[split:])
    with engine.connect() as conn:
        row = conn.execute(select(rm_accounts)).mappings().one()
    assert (row["balance"], row["held"], row["version"]) == (
        Decimal("7.50"),
        Decimal("1.25"),
        len(events),
    )
    assert (row["debits_total"], row["credits_total"]) == (Decimal("2.50"), Decimal("10.00"))
    assert row["updated_at"] == T0 + timedelta(seconds=2)


def test_accounts_projection_refuses_gaps_and_strays(engine: Engine) -> None:
    metadata.create_all(engine)
    events = account_events()
    projection = AccountsProjection()
    with pytest.raises(ProjectionError, match="never opened"), engine.begin() as conn:
        projection.apply(conn, events[1:2])
    with pytest.raises(ProjectionError, match="expected version 2, got 3"), engine.begin() as conn:
        projection.apply(conn, [events[0], events[2]])
    with pytest.raises(ProjectionError, match="opened twice"), engine.begin() as conn:
        projection.apply(conn, [events[0], events[0]])
