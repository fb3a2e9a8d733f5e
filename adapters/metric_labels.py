"""Bounded label values for Prometheus metrics.

Every distinct label value is a new time series, kept for the life of the process: a label
fed from input (an HTTP method, an error code, a dead-letter reason) lets whoever controls
the input grow ``/metrics`` and the monitoring system without bound. Such labels go through
a :class:`BoundedLabel`: values from a fixed allow-list, or (where new codes are legitimate,
e.g. a dead-letter reason added later) any value of a given shape up to a cap of distinct
values; everything else becomes one ``other`` value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable


class BoundedLabel:
    """Maps a raw value to a label value from a bounded set.

    ``known`` values are always kept. With ``pattern``, other values of that shape are kept
    too until ``max_values`` distinct values have been seen; without it, only ``known``
    values are. Anything else is ``other``. At most ``len(known) + max_values + 1`` values
    ever come out.
    """

    def __init__(
        self,
        known: Iterable[str] = (),
        *,
        pattern: str | None = None,
        max_values: int = 32,
        other: str = "other",
    ) -> None:
        self.known = frozenset(known)
        self.pattern = re.compile(pattern) if pattern is not None else None
        self.max_values = max_values
        self.other = other
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: object) -> str:
        text = str(value)
        if text in self.known:
            return text
        if self.pattern is None or not self.pattern.fullmatch(text):
            return self.other
        with self._lock:
            if text in self._seen:
                return text
            if len(self._seen) >= self.max_values:
                return self.other
            self._seen.add(text)
            return text
