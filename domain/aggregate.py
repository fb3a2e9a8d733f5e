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
