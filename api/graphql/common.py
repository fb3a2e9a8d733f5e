"""Generic GraphQL types every context uses: Relay-style connections and :class:`Money`.

A connection is built from a read-side page (:func:`connection`) fetched by :func:`paginate`,
whose ``first`` was checked by :func:`page_size` (at most :data:`MAX_PAGE`).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Generic, TypeVar

import strawberry

from api.graphql.errors import bad_input
from api.presentation import format_amount
from projections.views import Page as ViewPage

T = TypeVar("T")
N = TypeVar("N")

DEFAULT_PAGE = 20
"""Items in a page when the query gives no ``first``."""
MAX_PAGE = 200
"""Largest ``first`` a connection accepts. Larger is refused with ``BAD_USER_INPUT`` (not
silently clamped: a client asking for 10,000 items should learn it gets at most 200)."""


# --------------------------------------------------------------------------- pagination


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


@strawberry.type
class Connection(Generic[N]):
    edges: list[Edge[N]]
    page_info: PageInfo


def page_size(first: int | None) -> int:
    """``first`` checked against 1..:data:`MAX_PAGE` (``BAD_USER_INPUT`` outside it)."""
    if first is None:
        return DEFAULT_PAGE
    if first < 1 or first > MAX_PAGE:
        raise bad_input(f"first: must be between 1 and {MAX_PAGE}, got {first}")
    return first


def connection(page: ViewPage[T], convert: Callable[[T], N]) -> Connection[N]:
    """A connection from a read-side page, converting each item with ``convert``."""
    return Connection(
        edges=[Edge(cursor=cursor, node=convert(item)) for cursor, item in page.edges],
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
    )


def paginate(fetch: Callable[..., ViewPage[T]], *args: Any, after: str | None) -> ViewPage[T]:
    """Call a paginated query (``after`` is passed last); a cursor it cannot read is the
    client's error (``ValueError`` from the read side), not an internal one."""
    try:
        return fetch(*args, after)
    except ValueError as error:
        if after is None:
            raise
        raise bad_input(f"after: invalid cursor ({error})") from None


# --------------------------------------------------------------------------- values


@strawberry.type(description='An amount as a decimal string ("125.40") and its currency')
class Money:
    amount: str
    currency: str

    @staticmethod
    def of(amount: Decimal, currency: str) -> Money:
        return Money(amount=format_amount(amount, currency), currency=currency)
