"""What the ledger needs from the outside world: the screening of a payment before it is
booked (implemented by the rules here, or by the fraud context's model screening, wired
by the composition root), as ``typing.Protocol``.

The screening's data, :class:`~application.ports.ScreeningRequest` and
:class:`~application.ports.ScreeningDecision`, are in the shared :mod:`application.ports`:
the ledger builds the request and the fraud context the decision, so neither context can
own them without the other importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from application.ports import ScreeningDecision, ScreeningRequest


class Screening(Protocol):
    """Decides APPROVE / REVIEW / DECLINE for a payment before it is booked."""

    def screen(self, request: ScreeningRequest) -> ScreeningDecision: ...


@runtime_checkable
class BookingObserver(Protocol):
    """A screening that keeps state from what is booked (online fraud features).

    ``booked`` gets the events of each payment a unit of work books, before the commit,
    so later payments of the same batch see earlier ones; ``unit_ended`` is called after
    every unit of work, committed or not (the committed events come back from the log).
    """

    def booked(self, events: Sequence[object]) -> None: ...

    def unit_ended(self) -> None: ...
