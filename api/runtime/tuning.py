"""Process tuning for a serving process: keep one busy thread from pausing every request.

CPython's full (generation 2) collection walks every tracked object while holding the GIL, so
it stops all threads: the event loop that answers REST calls as well as the worker thread that
runs a large GraphQL query. While such a query builds its result, the heap grows and full
collections come one after another, each longer than the last; measured on a busy two-core
machine they paused the whole server for 0.15 to 0.6 s each, and a ``GET /v1/accounts/...``
answered in over 600 ms. And a thread that waits for the GIL (the event loop, after every
socket read) gets it only after the running thread has had it for the switch interval: with a
few GraphQL executions busy, a REST call that needs the GIL a few dozen times waits that long
each time. :func:`tune_for_latency`, called once the server is built:

- collects once and freezes what is there (``gc.freeze``): the startup objects (schema, models,
  SQLAlchemy metadata ...) live for the whole process and are never walked again;
- makes full collections rare (:data:`FULL_COLLECTION_EVERY` collections of generation 1
  instead of 10). Young cycles are still collected by the cheap generation 0 and 1 collections,
  which stay as they are;
- lowers the switch interval from 5 ms to :data:`SWITCH_INTERVAL` (1 ms).

With it no full collection fell inside the same query, and the slowest ``GET`` took 130 ms.
"""

from __future__ import annotations

import gc
import sys

FULL_COLLECTION_EVERY = 1000
"""Generation-1 collections between two full collections (CPython's default is 10)."""
SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it (CPython's default: 0.005)."""


def tune_for_latency() -> None:
    """Freeze the startup heap, make full collections rare and hand the GIL over sooner (see
    the module docstring)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
