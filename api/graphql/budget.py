"""What one GraphQL request may cost the server: the limits beyond the document's shape.

Depth, tokens and aliases (``LEDGER_GRAPHQL_MAX_DEPTH`` ...) bound the *text* of a document.
These bound the *work* it asks for and the share of the server one principal can take:

- ``max_cost``: the estimated number of fields a document resolves (page sizes multiplied along
  nested connections, see :mod:`api.graphql.cost`); more is refused before anything runs.
- ``max_nested_page``: the largest ``first`` of a connection that sits inside a list (a
  connection per item of another connection multiplies the work).
- ``deadline_seconds``: an execution still running after this is cancelled and answered with
  an error.
- ``max_concurrent``: GraphQL executions one principal may have running at once (HTTP 429
  beyond that).
- ``workers``: GraphQL executions the process runs at once, each in a worker thread of its
  own (more wait for a free one); every one holds at most one database connection at a time.

Pure Python, no framework: :mod:`api.runtime.settings` reads it from the environment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MAX_COST = 50_000
DEFAULT_MAX_NESTED_PAGE = 50
DEFAULT_DEADLINE_SECONDS = 10.0
DEFAULT_MAX_CONCURRENT = 4
DEFAULT_WORKERS = 8


@dataclass(frozen=True)
class GraphQLBudget:
    max_cost: int = DEFAULT_MAX_COST
    max_nested_page: int = DEFAULT_MAX_NESTED_PAGE
    deadline_seconds: float = DEFAULT_DEADLINE_SECONDS
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    workers: int = DEFAULT_WORKERS

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: list[str]) -> GraphQLBudget:
        """The ``LEDGER_GRAPHQL_*`` budget variables; each invalid one is added to
        ``problems`` (named) and its default used."""

        def number(name: str, default: float, low: float, high: float, *, whole: bool) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw) if whole else float(raw)
            except ValueError:
                kind = "an integer" if whole else "a number"
                problems.append(f"{name}: must be {kind}, got {raw!r}")
                return default
            if not (math.isfinite(value) and low <= value <= high):
                problems.append(f"{name}: must be between {low:g} and {high:g}, got {raw}")
                return default
            return value

        return cls(
            max_cost=int(
                number("LEDGER_GRAPHQL_MAX_COST", DEFAULT_MAX_COST, 1, 100_000_000, whole=True)
            ),
            max_nested_page=int(
                number(
                    "LEDGER_GRAPHQL_MAX_NESTED_PAGE", DEFAULT_MAX_NESTED_PAGE, 1, 200, whole=True
                )
            ),
            deadline_seconds=number(
                "LEDGER_GRAPHQL_DEADLINE_SECONDS", DEFAULT_DEADLINE_SECONDS, 0.1, 600, whole=False
            ),
            max_concurrent=int(
                number("LEDGER_GRAPHQL_MAX_CONCURRENT", DEFAULT_MAX_CONCURRENT, 1, 1000, whole=True)
            ),
            workers=int(number("LEDGER_GRAPHQL_WORKERS", DEFAULT_WORKERS, 1, 256, whole=True)),
        )
