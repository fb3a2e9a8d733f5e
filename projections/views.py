"""What every context's queries share: a page of a keyset-paginated list, and the projector's
status of a projection.

The views of each context are plain frozen dataclasses beside its queries
(:mod:`projections.ledger.views`, :mod:`projections.audit.queries`, ...): the contract between
the read side and the entry points (``api``), whose GraphQL types and REST responses are built
from these, never from tables or aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list: ``(cursor, item)`` pairs in order."""

    edges: list[tuple[str, T]]
    has_next_page: bool

    @property
    def end_cursor(self) -> str | None:
        return self.edges[-1][0] if self.edges else None


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int  # last notification id processed
    head: int  # last notification id in the source log
    updated_at: datetime | None
    context: str | None = None  # the source log (bounded context) this position is in

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)
