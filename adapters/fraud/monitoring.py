"""Drift of the promoted model's population: the ``ledger fraud monitor`` report and plots.

The recorded screenings of a window (``rm_fraud_scores``: the feature values each
``Screened`` event carries, and its score) are compared with the model's reference
distribution (:mod:`adapters.fraud.reference`): the population stability index per feature
and of the score (:func:`domain.fraud.drift.psi`), over all channels and per channel.
Channels are bounded: the :data:`MAX_CHANNELS` busiest keep their name, the rest count as
``other`` (the same labels the Prometheus gauges use, :mod:`adapters.fraud.drift_metrics`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.fraud.drift import Bins, drift_level, psi
from projections.fraud.monitor import ScoredPayment

MAX_CHANNELS = 8
"""Channels reported (and labelled in metrics) by name; the others are ``other``."""
ALL = "all"
OTHER = "other"
SCORE = "score"


@dataclass(frozen=True)
class Drift:
    """The PSI of one feature (or the score) over all channels and per channel."""

    name: str
    psi: float | None
    per_channel: dict[str, float | None] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return drift_level(self.psi)


@dataclass(frozen=True)
class DriftReport:
    model_version: str
    rows: int
    channels: dict[str, int]
    features: list[Drift]
    score: Drift

    def flagged(self, level: str = "drifting") -> list[str]:
        """The features at ``level`` (``drifting`` or ``watch``) over all channels."""
        return [drift.name for drift in self.features if drift.level == level]

    def as_json(self) -> dict[str, Any]:
        def one(drift: Drift) -> dict[str, Any]:
            return {
                "feature": drift.name,
                "psi": drift.psi,
                "level": drift.level,
                "per_channel": {
                    channel: {"psi": value, "level": drift_level(value)}
                    for channel, value in drift.per_channel.items()
                },
            }

        return {
            "model_version": self.model_version,
            "rows": self.rows,
            "channels": self.channels,
            "drifting": self.flagged("drifting"),
            "watch": self.flagged("watch"),
            "score": one(self.score),
            "features": [one(drift) for drift in self.features],
        }


def reference_of(meta: dict[str, Any]) -> tuple[dict[str, Bins], Bins] | None:
    """A model's stored reference (feature bins, score bins) from its metadata
    (:mod:`adapters.fraud.reference`); None for a model trained without one."""
    stored = meta.get("reference")
    if not isinstance(stored, dict):
        return None
    features = {name: Bins.from_json(bins) for name, bins in stored["features"].items()}
    return features, Bins.from_json(stored["score"])


def channel_labels(rows: Sequence[ScoredPayment], limit: int = MAX_CHANNELS) -> dict[str, str]:
    """Each channel seen in ``rows`` mapped to its label: itself for the ``limit`` busiest,
    ``other`` for the rest (a bounded set of labels whatever the input)."""
    counts = Counter(row.channel for row in rows)
    busiest = {channel for channel, _ in counts.most_common(limit)}
    return {channel: channel if channel in busiest else OTHER for channel in counts}


def model_rows(rows: Sequence[ScoredPayment], version: str) -> list[ScoredPayment]:
    """The rows scored by ``version`` that carry their feature values."""
    return [r for r in rows if r.model_version == version and r.features and r.score]


def drift_report(
    rows: Sequence[ScoredPayment],
    version: str,
    features: dict[str, Bins],
    score: Bins,
    *,
    max_channels: int = MAX_CHANNELS,
) -> DriftReport:
    """The PSI of every reference feature and of the score, over ``version``'s rows."""
    scored = model_rows(rows, version)
    labels = channel_labels(scored, max_channels)
    groups: dict[str, list[ScoredPayment]] = {}
    for row in scored:
        groups.setdefault(labels[row.channel], []).append(row)

    def drift(name: str, bins: Bins, value: Any) -> Drift:
        per_channel = {
            channel: psi(bins, [value(r) for r in members])
            for channel, members in sorted(groups.items())
        }
        return Drift(name, psi(bins, [value(r) for r in scored]), per_channel)

    return DriftReport(
        model_version=version,
        rows=len(scored),
        channels={channel: len(members) for channel, members in sorted(groups.items())},
        features=[
            drift(name, bins, lambda r, n=name: float(r.features[n]))
            for name, bins in features.items()
            if all(name in (r.features or {}) for r in scored)
        ],
        score=drift(SCORE, score, lambda r: float(r.score)),
    )


def render(report: DriftReport) -> str:
    """The report as a text table: one line per feature, drifting ones marked."""
    channels = list(report.channels)
    head = f"{'feature':34}{'PSI':>9}  {'level':9}" + "".join(f"{c[:12]:>13}" for c in channels)
    lines = [
        f"model {report.model_version[:12]}: {report.rows} scored payments; channels "
        + ", ".join(f"{c} {n}" for c, n in report.channels.items()),
        head,
    ]
    for drift in [*report.features, report.score]:
        marker = {"drifting": " <<", "watch": " <"}.get(drift.level, "")
        cells = "".join(f"{_num(drift.per_channel.get(c)):>13}" for c in channels)
        lines.append(f"{drift.name:34}{_num(drift.psi):>9}  {drift.level:9}{cells}{marker}")
    lines.append(
        "PSI > 0.2 drifting (<<), > 0.1 watch (<); "
        f"drifting: {', '.join(report.flagged()) or 'none'}"
    )
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def plot(
    report: DriftReport,
    rows: Sequence[ScoredPayment],
    features: dict[str, Bins],
    score: Bins,
    out: Path,
) -> dict[str, str]:
    """``features.png`` (reference against current proportions per bin, one panel per
    feature) and ``score.png`` in ``out``; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    scored = model_rows(rows, report.model_version)
    names = [drift.name for drift in report.features]
    levels = {drift.name: drift for drift in report.features}
    columns = 4
    lines = max(1, -(-len(names) // columns))
    fig, axes = plt.subplots(lines, columns, figsize=(4 * columns, 2.6 * lines), squeeze=False)
    for index, name in enumerate(names):
        ax = axes[index // columns][index % columns]
        current = [float((r.features or {})[name]) for r in scored]
        _bars(ax, features[name], current)
        drift = levels[name]
        ax.set_title(f"{name}\nPSI {_num(drift.psi)} {drift.level}", fontsize=8)
    for index in range(len(names), lines * columns):
        axes[index // columns][index % columns].axis("off")
    fig.subplots_adjust(hspace=0.9, wspace=0.3, top=0.95, bottom=0.06)  # tight_layout: 1 s
    paths = {"features": str(out / "features.png"), "score": str(out / "score.png")}
    fig.savefig(paths["features"], dpi=80)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    _bars(ax, score, [float(r.score or 0) for r in scored])
    ax.set_title(f"score: PSI {_num(report.score.psi)} {report.score.level}")
    fig.tight_layout()
    fig.savefig(paths["score"], dpi=80)
    plt.close(fig)
    return paths


def _bars(ax: Any, bins: Bins, values: Sequence[float]) -> None:
    counts = bins.counts(values)
    total = max(1, len(values))
    positions = list(range(len(bins.proportions)))
    ax.bar([p - 0.2 for p in positions], bins.proportions, width=0.4, label="reference")
    ax.bar([p + 0.2 for p in positions], [c / total for c in counts], width=0.4, label="current")
    edges = ["<=" + f"{edge:.3g}" for edge in bins.edges] + [">" + f"{bins.edges[-1]:.3g}"]
    ax.set_xticks(positions)
    ax.set_xticklabels(edges, rotation=60, fontsize=6)
    ax.legend(fontsize=6)
