"""Population drift of the fraud model's inputs and scores, and review thresholds from capacity.

A model is trained on one population and scores another. The population stability index
(PSI) measures how far the distribution of one feature (or of the score) has moved from
the training data's: the reference's values are cut into bins at its quantiles
(:func:`reference_bins`, stored with the model), the recent values are counted into the
same bins and ``PSI = sum((current - reference) * ln(current / reference))`` over the bins'
proportions (:func:`psi`). The usual reading, kept here: below 0.1 stable, 0.1 to 0.2 worth
watching, above 0.2 drifting (:func:`drift_level`).

:func:`capacity_threshold` answers the other question of a rollout: which review threshold
gives the analysts about as many cases a day as they can work.

Pure Python on purpose (no NumPy): the domain stays free of frameworks, and a window of
recent payments is a few hundred thousand values at most.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

BINS = 10
"""Quantile bins of a reference distribution (fewer when values repeat)."""
WATCH = 0.1
DRIFTING = 0.2
MIN_ROWS = 50
"""Fewer recent values than this give no PSI: the index of a tiny sample is noise."""
_FLOOR = 1e-4
"""Smallest proportion a bin counts with (an empty bin would make the logarithm infinite)."""


@dataclass(frozen=True)
class Bins:
    """Bin edges and the reference's proportion in each bin.

    Bin ``i`` holds values ``<= edges[i]`` (and above the previous edge); the last bin,
    ``len(edges)``, holds the values above every edge. ``proportions`` has one entry more
    than ``edges``.
    """

    edges: tuple[float, ...]
    proportions: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.proportions) != len(self.edges) + 1:
            raise ValueError("bins need one proportion more than edges")
        if list(self.edges) != sorted(set(self.edges)):
            raise ValueError("bin edges must be strictly increasing")

    def counts(self, values: Iterable[float]) -> list[int]:
        """How many of ``values`` fall into each bin."""
        counts = [0] * len(self.proportions)
        for value in values:
            counts[bisect_left(self.edges, value)] += 1
        return counts

    def as_json(self) -> dict[str, list[str]]:
        """Decimal strings (the form kept in a model's metadata and in events)."""
        return {
            "edges": [_text(edge) for edge in self.edges],
            "proportions": [_text(p) for p in self.proportions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Sequence[str | float]]) -> Bins:
        return cls(
            tuple(float(edge) for edge in data["edges"]),
            tuple(float(p) for p in data["proportions"]),
        )


def reference_bins(values: Sequence[float], bins: int = BINS) -> Bins:
    """Bins at the quantiles of ``values`` (repeated quantiles merged: a binary feature gets
    two bins) with the proportion of ``values`` in each."""
    if not values or bins < 2:
        raise ValueError("a reference distribution needs values and at least two bins")
    ordered = sorted(values)
    n = len(ordered)
    edges = sorted({ordered[min(n - 1, (n * i) // bins)] for i in range(1, bins)})
    shell = Bins(tuple(edges), tuple([0.0] * (len(edges) + 1)))
    counts = shell.counts(ordered)
    return Bins(shell.edges, tuple(round(c / n, 6) for c in counts))


def psi(reference: Bins, values: Sequence[float]) -> float | None:
    """The population stability index of ``values`` against ``reference`` (None with fewer
    than :data:`MIN_ROWS` values)."""
    if len(values) < MIN_ROWS:
        return None
    counts = reference.counts(values)
    total = len(values)
    index = 0.0
    for expected, count in zip(reference.proportions, counts, strict=True):
        ref = max(expected, _FLOOR)
        cur = max(count / total, _FLOOR)
        index += (cur - ref) * math.log(cur / ref)
    return round(index, 6)


def drift_level(value: float | None) -> str:
    """``drifting`` above 0.2, ``watch`` above 0.1, ``stable`` otherwise; ``too-few`` for no
    index."""
    if value is None:
        return "too-few"
    if value > DRIFTING:
        return "drifting"
    if value > WATCH:
        return "watch"
    return "stable"


@dataclass(frozen=True)
class CapacityThreshold:
    """The review threshold that gives about ``cases_per_day`` cases, and what it gives."""

    threshold: Decimal
    cases_per_day: float
    """Cases a day expected at ``threshold`` on the scores it was chosen from."""
    scores: int
    days: float


def capacity_threshold(
    scores: Sequence[Decimal], days: float, cases_per_day: float
) -> CapacityThreshold:
    """The lowest score threshold at which ``scores`` (seen over ``days``) would have opened
    at most ``cases_per_day`` cases a day (a payment with a score at or above it is held).

    Ties are kept together: when many payments share the score at the cut, the threshold
    moves above them rather than holding more than the capacity. With fewer payments than
    the capacity, every scored payment is held (the lowest score).
    """
    if days <= 0:
        raise ValueError("days must be positive")
    if cases_per_day <= 0:
        raise ValueError("cases per day must be positive")
    if not scores:
        raise ValueError("no scores to choose a threshold from")
    ordered = sorted(scores, reverse=True)
    budget = int(cases_per_day * days)
    if budget >= len(ordered):
        threshold = ordered[-1]
    elif budget == 0:
        threshold = ordered[0] + Decimal("0.000001")
    else:
        threshold = ordered[budget - 1]
        if ordered[budget] == threshold:  # a tie at the cut: move above the tied scores
            above = [score for score in ordered[:budget] if score > threshold]
            threshold = above[-1] if above else ordered[0] + Decimal("0.000001")
    held = sum(1 for score in ordered if score >= threshold)
    return CapacityThreshold(threshold, round(held / days, 3), len(ordered), days)


def _text(value: float) -> str:
    return format(Decimal(repr(float(value))), "f")
