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

Pure Python, no framework: :class:`api.runtime.settings.GraphQLSettings` reads it from the
environment (``LEDGER_GRAPHQL_*``).
"""

from __future__ import annotations

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
