"""Base aggregate whose every event records its causation.

eventsourcing builds an event class per ``@event`` method; those classes all
derive from the aggregate's ``Event`` class, so adding the three causation
fields here puts them on every event of every context. ``trigger_event`` and
``_create`` fill them from :func:`domain.causation.current_causation`, and give
the event the unit of work's shared timestamp when one is set.
"""

from __future__ import annotations

from typing import Any, Self

from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate

from domain.causation import current_causation, current_recording_time

ENVELOPE_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor",
        "correlation_id",
        "via_channel",
    }
)
"""The attributes every stored event carries beside its own facts (identity, version, time
and causation); readers that want only the facts leave them out."""

_FLAT_CONTAINERS = (list, dict, set)
"""The mutable containers :meth:`AttributedAggregate.clone` copies (exact types)."""


class AttributedAggregate(Aggregate):
    """An eventsourcing ``Aggregate`` whose events carry actor, correlation id and the channel
    the command came through (``via_channel``, to keep it apart from a payment's own channel)."""

    class Event(Aggregate.Event):
        actor: str
        correlation_id: str
        via_channel: str

    class Created(Event, Aggregate.Created):
        pass

    def trigger_event(
        self,
        event_class: type[CanMutateAggregate[Any]],
        **kwargs: Any,
    ) -> None:
        super().trigger_event(event_class, **_with_causation(kwargs))

    def clone(self) -> Self:
        """An independent copy of this aggregate, much cheaper than ``copy.deepcopy``.

        The copy shares the attribute values, except the flat mutable containers among them
        (lists, dicts, sets: the pending events, an account's holds), which are copied one
        level deep. That is enough for an aggregate whose state is immutable values (str,
        Decimal, UUID, datetime, enums) and flat containers of them, as an account's is:
        a command on the copy then leaves the original as it was. A cache of aggregates
        (the ledger's working set) hands out clones, so an attempt that fails half-way
        leaves the cached state pristine.
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(
            {
                name: value.copy() if type(value) in _FLAT_CONTAINERS else value
                for name, value in self.__dict__.items()
            }
        )
        return copy

    @classmethod
    def _create(
        cls,
        event_class: type[CanInitAggregate[Any]],
        *,
        id: Any = None,
        **kwargs: Any,
    ) -> Self:
        return super()._create(event_class, id=id, **_with_causation(kwargs))


def _with_causation(kwargs: dict[str, Any]) -> dict[str, Any]:
    causation = current_causation()
    stamped: dict[str, Any] = {
        "actor": causation.actor,
        "correlation_id": causation.correlation_id,
        "via_channel": causation.channel,
    }
    timestamp = current_recording_time()
    if timestamp is not None:
        stamped["timestamp"] = timestamp
    stamped.update(kwargs)
    return stamped
