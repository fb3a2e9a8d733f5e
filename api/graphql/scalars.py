"""Scalars: ``DateTime`` (ISO 8601, a time zone required) and ``JSON`` (event payloads)."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON

from api.presentation import utc
from application.input_rules import instant_problem

NAIVE_MESSAGE = "DateTime must carry a time zone offset, e.g. 2026-11-23T10:15:00Z"


def serialize_datetime(value: datetime) -> str:
    """UTC, ISO 8601 with ``Z`` (the same form REST answers with)."""
    return utc(value).isoformat().replace("+00:00", "Z")


def parse_datetime(value: object) -> datetime:
    """An aware UTC datetime from an ISO 8601 string; a naive value, one that has no UTC form
    (``0001-01-01T00:00:00+01:00``) or one outside the years a client may ask for is refused
    (``ValueError``, reported as ``BAD_USER_INPUT`` naming the argument)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not an ISO 8601 date-time: {value!r}") from None
    else:
        raise ValueError("DateTime must be an ISO 8601 string")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(NAIVE_MESSAGE)
    problem = instant_problem(moment, "DateTime")
    if problem is not None:
        raise ValueError(problem)
    return moment.astimezone(UTC)


DateTime = strawberry.scalar(
    name="DateTime",
    description="An instant as ISO 8601 with a time zone offset, e.g. 2026-11-23T10:15:00Z",
    specified_by_url="https://scalars.graphql.org/chillicream/date-time.html",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)

__all__ = ["JSON", "DateTime", "parse_datetime", "serialize_datetime"]
