"""Keyset pagination shared by every read-model list: the "after this cursor" condition and
the fetch of one page (one row more than asked, to know whether another page follows)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Engine, Select, and_, or_

from projections.views import Page

V = TypeVar("V")

MAX_PAGE = 500
"""The largest page a query returns (``first`` is clamped to 1..500)."""

IN_CHUNK = 5000
"""How many keys one ``IN (...)`` lookup lists at most."""


def clamp(first: int) -> int:
    """``first`` (the page size asked for) within 1..:data:`MAX_PAGE`."""
    return max(1, min(int(first), MAX_PAGE))


def before(
    first_col: ColumnElement[Any], second_col: ColumnElement[Any], first: Any, second: Any
) -> ColumnElement[bool]:
    """``(first_col, second_col) < (first, second)``, written so an index range applies."""
    return and_(first_col <= first, or_(first_col < first, second_col < second))


def fetch_page(
    engine: Engine,
    query: Select[Any],
    limit: int,
    view_of: Callable[[Mapping[Any, Any]], V],
    cursor_of: Callable[[V], str],
) -> Page[V]:
    """Run the ordered ``query`` for ``limit`` items and wrap them as a :class:`Page`."""
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit + 1)).mappings().all()
    views = [view_of(row) for row in rows[:limit]]
    return Page(edges=[(cursor_of(view), view) for view in views], has_next_page=len(rows) > limit)
