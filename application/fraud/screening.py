"""The model-backed screening: rules, blocklist and the promoted fraud model.

:class:`ModelScreening` implements the ledger's :class:`~application.ledger.ports.Screening`
port (structurally: this context never imports the ledger): the rules (amount limits) and a
blocklist beside the promoted model's score, with configurable thresholds
(:class:`ScoreThresholds`); with no promoted model it decides exactly as the rules do.
:class:`ModelSelector` keeps the promoted model loaded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from application.fraud.features import OnlineFeatures, apply_ledger_event
from application.fraud.payee import payee_check_hits, payee_check_outcome
from application.fraud.ports import FraudModel, ModelLoader, PayeeChecks, Rules
from application.fraud.shadow import ShadowScoring
from application.ports import ScreeningDecision, ScreeningRequest
from domain.fraud.features import FEATURES, Payment, as_decimals
from domain.ledger.transactions import ScreeningOutcome

log = logging.getLogger(__name__)

TOP_FEATURES = 5
_SEVERITY = {ScreeningOutcome.APPROVE: 0, ScreeningOutcome.REVIEW: 1, ScreeningOutcome.DECLINE: 2}


@dataclass(frozen=True)
class ScoreThresholds:
    """A score at or above ``review`` holds the payment; at or above ``decline`` rejects it."""

    review: Decimal = Decimal("0.5")
    decline: Decimal = Decimal("0.9")

    def outcome(self, score: Decimal) -> ScreeningOutcome:
        if score >= self.decline:
            return ScreeningOutcome.DECLINE
        if score >= self.review:
            return ScreeningOutcome.REVIEW
        return ScreeningOutcome.APPROVE


class ModelSelector:
    """The promoted model, loaded once per version; re-checks the registry now and then.

    A promoted model that cannot be loaded (artifact missing, sha256 mismatch) is tried
    again at every refresh until it loads, so restoring the artifact needs no restart.
    """

    def __init__(
        self,
        promoted: Callable[[], str | None],
        loader: ModelLoader,
        *,
        refresh_seconds: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._promoted = promoted
        self._loader = loader
        self._refresh = refresh_seconds
        self._monotonic = monotonic
        self._checked_at: float | None = None
        self._version: str | None = None
        self._model: FraudModel | None = None
        self.failed: str | None = None

    def invalidate(self) -> None:
        self._checked_at = None

    def current(self) -> FraudModel | None:
        now = self._monotonic()
        if self._checked_at is None or now - self._checked_at >= self._refresh:
            self._checked_at = now
            version = self._promoted()
            if version != self._version or self.failed is not None:
                self._switch(version)
        return self._model

    def _switch(self, version: str | None) -> None:
        self._version = version
        self._model = None
        self.failed = None
        if version is None:
            return
        try:
            model = self._loader.load(version)
            unknown = [name for name in model.features if name not in FEATURES]
            if unknown or not model.features:
                raise ValueError(f"model {version} expects features not computed: {unknown}")
            self._model = model
        except Exception as error:  # payments are held meanwhile (see ModelScreening)
            self.failed = f"{type(error).__name__}: {error}"
            log.error("cannot load promoted fraud model %s: %s", version, self.failed)


class ModelScreening:
    """Rules, blocklist and the promoted model behind the ``Screening`` port.

    When a model is promoted but cannot be loaded, an outgoing payment is held for review
    at least (``model-unavailable``): nothing goes through unscreened by the model.
    """

    def __init__(
        self,
        rules: Rules,
        selector: ModelSelector | None = None,
        *,
        thresholds: ScoreThresholds | None = None,
        blocklist: Iterable[str] = (),
        features: OnlineFeatures | None = None,
        payee_checks: PayeeChecks | None = None,
        shadow: ShadowScoring | None = None,
    ) -> None:
        self.rules = rules
        self.shadow = shadow
        """The challenger scored beside the promoted model (recorded, never acted upon)."""
        self.payee_checks = payee_checks
        self.selector = selector
        self.thresholds = thresholds or ScoreThresholds()
        self.blocklist = frozenset(iban.replace(" ", "").upper() for iban in blocklist)
        self.online = features or OnlineFeatures()
        self._unscored: list[object] = []
        """Events of this unit booked before its first scoring (refused before screening)."""

    def screen(self, request: ScreeningRequest) -> ScreeningDecision:
        decision = self.rules.screen(request)
        hits = list(decision.rule_hits)
        outcome = decision.outcome
        for role, iban in (("creditor", request.creditor_iban), ("debtor", request.debtor_iban)):
            if iban in self.blocklist:
                hits.append(f"blocklisted-{role}-iban")
                outcome = ScreeningOutcome.DECLINE
        # the payer paid after a VoP check: its outcome is a signal, never a reason to block
        vop_hits = payee_check_hits(self.payee_checks, request)
        hits.extend(vop_hits)
        base = outcome  # the rules' outcome, before any model (the challenger's too)
        shadowed = self.shadow is not None and self.shadow.active()
        model = self.selector.current() if self.selector is not None else None
        if model is None:
            if self.selector is not None and self.selector.failed:
                hits.append("model-unavailable")
                if request.debtor_is_ours and outcome is ScreeningOutcome.APPROVE:
                    outcome = ScreeningOutcome.REVIEW
            if not shadowed:
                return ScreeningDecision(outcome, hits)
            try:
                values = self._features(request, vop_hits)
            except Exception as error:  # the challenger alone never fails a payment
                log.warning("features for the fraud challenger failed: %s", error)
                return ScreeningDecision(outcome, hits)
            challenger = self._challenger(values, base, request)
            return ScreeningDecision(outcome, hits, challenger=challenger)
        values = self._features(request, vop_hits)
        names = tuple(model.features)  # the model's own order (an older model: fewer)
        probability, contributions = model.explain([values[name] for name in names])
        score = Decimal(f"{probability:.6f}")
        if request.debtor_is_ours:
            model_outcome = self.thresholds.outcome(score)
            if _SEVERITY[model_outcome] > _SEVERITY[outcome]:
                outcome = model_outcome
                hits.append(f"model-score-{model_outcome.value.lower()}")
        rendered = as_decimals(values)  # every feature is recorded, whatever the model used
        ranked = sorted(range(len(names)), key=lambda i: contributions[i], reverse=True)[
            :TOP_FEATURES
        ]
        top = [
            {
                "feature": names[i],
                "value": rendered[names[i]],
                "contribution": f"{contributions[i]:.6f}",
            }
            for i in ranked
        ]
        challenger = self._challenger(values, base, request) if shadowed else None
        return ScreeningDecision(outcome, hits, score, model.version, rendered, top, challenger)

    def _challenger(
        self, values: dict[str, float], base: ScreeningOutcome, request: ScreeningRequest
    ) -> dict[str, str] | None:
        """What the challenger would have decided: recorded, never acted upon."""
        if self.shadow is None:
            return None
        return self.shadow.decide(values, base, request.debtor_is_ours)

    def _features(self, request: ScreeningRequest, vop_hits: list[str]) -> dict[str, float]:
        """The payment's online features (the state caught up and journalling this unit)."""
        state = self.online.state
        if not state.journalling:
            self.online.catch_up()
            state.begin()
            for event in self._unscored:  # not in the log yet: this unit has not committed
                apply_ledger_event(state, event)
            self._unscored.clear()
        at = request.received_at  # the ledger's recording time, as in the log
        if at is None:
            raise ValueError("a screening request needs received_at")
        payment = Payment.of(
            request.debtor_iban,
            request.creditor_iban,
            request.amount,
            at,
            request.metadata,
            channel=request.channel,
            payee_check=payee_check_outcome(request.vop_check_id, vop_hits),
        )
        return state.features(payment)

    def warm_up(self) -> int:
        """Bring the online features up to the head of the log before taking traffic, so
        that the first payment scored does not wait for the whole history. Call it under
        the ledger's write lock; returns how many events were read (0 without a model)."""
        shadowed = self.shadow is not None and self.shadow.active()
        if (self.selector is None or self.selector.current() is None) and not shadowed:
            return 0
        if self.online.state.journalling:
            return 0
        return self.online.catch_up()

    # -- BookingObserver -------------------------------------------------------------

    def booked(self, events: Sequence[object]) -> None:
        state = self.online.state
        if not state.journalling:
            # No model scored in this unit yet. Keep the events (a payment refused before
            # screening): a later payment of the unit that is scored must see them; if none
            # is, the log brings them after the commit.
            self._unscored.extend(events)
            return
        for event in events:
            apply_ledger_event(state, event)

    def unit_ended(self) -> None:
        self._unscored.clear()
        if self.online.state.journalling:
            self.online.state.rollback()
