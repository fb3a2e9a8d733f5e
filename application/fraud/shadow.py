"""The challenger model, scored in shadow beside the promoted one.

``ledger fraud shadow VERSION`` sets a challenger in the model registry (an audited
``ChallengerSet`` event). While one is set, :class:`~application.fraud.screening.ModelScreening`
hands every payment's feature values to :class:`ShadowScoring`, which scores them with the
challenger and answers the decision the challenger *would* have taken: the rules' outcome
made more severe by the challenger's score, exactly as the promoted model's is. That answer
is recorded with the screening (``challenger`` on the ``Screened`` event) and nothing acts on
it: the payment's outcome is the promoted model's.

Nothing the challenger does can change a payment: a challenger that cannot be loaded, needs
a feature the screening does not compute, or fails while scoring is recorded as
``{"version": ..., "error": ...}`` and the screening goes on. Features are taken by name, so
a challenger trained on another feature list scores as long as the screening computes its
features.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from application.fraud.ports import FraudModel, ModelLoader
from domain.ledger.transactions import ScreeningOutcome

log = logging.getLogger(__name__)

_SEVERITY = {ScreeningOutcome.APPROVE: 0, ScreeningOutcome.REVIEW: 1, ScreeningOutcome.DECLINE: 2}
_ERROR_LENGTH = 200


@runtime_checkable
class BatchScorer(Protocol):
    """A model that scores without explaining (cheaper than ``explain``'s TreeSHAP)."""

    def score_many(self, rows: Sequence[Sequence[float]]) -> list[float]: ...


class ShadowScoring:
    """Loads the registry's challenger (once per version, retried at every refresh while it
    fails) and scores payments with it; never raises into the screening."""

    def __init__(
        self,
        challenger: Callable[[], str | None],
        loader: ModelLoader,
        outcome: Callable[[Decimal], ScreeningOutcome],
        *,
        refresh_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._challenger = challenger
        self._loader = loader
        self._outcome = outcome
        self._refresh = refresh_seconds
        self._monotonic = monotonic
        self._checked_at: float | None = None
        self.version: str | None = None
        self._model: FraudModel | None = None
        self.failed: str | None = None

    def invalidate(self) -> None:
        self._checked_at = None

    def active(self) -> bool:
        """Whether a challenger is set (loaded or not)."""
        now = self._monotonic()
        if self._checked_at is None or now - self._checked_at >= self._refresh:
            self._checked_at = now
            try:
                version = self._challenger()
            except Exception as error:  # the registry unreadable: keep the last answer
                log.warning("cannot read the fraud challenger: %s", error)
                return self.version is not None
            if version != self.version or self.failed is not None:
                self._switch(version)
        return self.version is not None

    def _switch(self, version: str | None) -> None:
        self.version = version
        self._model = None
        self.failed = None
        if version is None:
            return
        try:
            self._model = self._loader.load(version)
        except Exception as error:
            self.failed = _short(error)
            log.error("cannot load the fraud challenger %s: %s", version, self.failed)

    def decide(
        self, values: Mapping[str, float], base: ScreeningOutcome, debtor_is_ours: bool
    ) -> dict[str, str] | None:
        """The challenger's score and the outcome it would have given (``base`` is the
        rules' outcome before any model); None when no challenger is set."""
        try:
            if not self.active() or self.version is None:
                return None
            version = self.version
            model = self._model
            if model is None:
                return {"version": version, "error": self.failed or "not loaded"}
            missing = [name for name in model.features if name not in values]
            if missing:
                return {"version": version, "error": f"missing features: {', '.join(missing)}"}
            row = [values[name] for name in model.features]
            if isinstance(model, BatchScorer):
                probability = model.score_many([row])[0]
            else:
                probability, _ = model.explain(row)
            score = Decimal(f"{probability:.6f}")
            outcome = base
            if debtor_is_ours:
                candidate = self._outcome(score)
                if _SEVERITY[candidate] > _SEVERITY[outcome]:
                    outcome = candidate
            return {"version": version, "score": format(score, "f"), "outcome": outcome.value}
        except Exception as error:  # never into the screening of the payment
            log.warning("fraud challenger failed to score: %s", error)
            return {"version": self.version or "", "error": _short(error)}


def _short(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_ERROR_LENGTH]
