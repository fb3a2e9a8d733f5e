"""The reports' read side behind one interface: a validated request
(:class:`application.reports.catalogue.ReportRequest`) streamed row by row
(:meth:`ReportQueries.stream`, for files) or one keyset page at a time
(:meth:`ReportQueries.page`, for GraphQL), where a cursor is the row key of the last row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Engine

from application.reports.catalogue import ReportRequest
from projections import cursors
from projections.paging import clamp
from projections.reports import (
    access_review,
    daily_balances,
    journal,
    large_value,
    statement,
    trial_balance,
)
from projections.reports.common import Key, Row
from projections.views import Page

Producer = Callable[[Engine, dict[str, Any], datetime, Key | None], Iterator[Row]]

PRODUCERS: dict[str, tuple[Producer, tuple[type, ...]]] = {
    "trial_balance": (trial_balance.rows, trial_balance.KEY_TYPES),
    "daily_balances": (daily_balances.rows, daily_balances.KEY_TYPES),
    "journal": (journal.rows, journal.KEY_TYPES),
    "large_value": (large_value.rows, large_value.KEY_TYPES),
    "customer_statement": (statement.rows, statement.KEY_TYPES),
    "access_review": (access_review.rows, access_review.KEY_TYPES),
}
"""Each report of the catalogue: its row generator and the types of its row key."""


class ReportQueries:
    """Reports over the read models; every chunk opens and closes its own connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def stream(self, request: ReportRequest, resume: Key | None = None) -> Iterator[Row]:
        """Every row of the report (after ``resume``), as the read models answer for T."""
        produce, _ = PRODUCERS[request.spec.name]
        return produce(self.engine, request.params, request.as_of, resume)

    def page(
        self, request: ReportRequest, first: int = 50, after: str | None = None
    ) -> Page[tuple[Any, ...]]:
        """One page of rows; ``after`` is a cursor of an earlier page (ValueError("invalid
        cursor") when it is not one of this report's)."""
        limit = clamp(first)
        name = request.spec.name
        resume = None
        if after is not None:
            resume = tuple(cursors.decode(after, f"report:{name}", *PRODUCERS[name][1]))
        taken = list(islice(self.stream(request, resume), limit + 1))
        edges = [(cursors.encode(f"report:{name}", *key), values) for key, values in taken[:limit]]
        return Page(edges=edges, has_next_page=len(taken) > limit)
