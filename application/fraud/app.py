"""The fraud context: the model registry, the model-backed screening and online features.

* :class:`FraudApplication` is the ``fraud`` context's event-sourced application: the
  model registry (register, promote, roll back) and, later, fraud cases.
* :class:`OnlineFeatures` keeps a :class:`~domain.fraud.features.FeatureState` up to date
  from the ledger's event log: it reads only the events recorded since its last position,
  and observes the payments of the running unit of work tentatively (undone at its end).
* :class:`ModelScreening` implements the :class:`~application.ports.Screening` port: the
  rules (amount limits) and a blocklist beside the promoted model's score, with
  configurable thresholds; with no promoted model it decides exactly as the rules do.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType, get_topic

from application.errors import Conflict, NotFound
from application.ledger.app import LedgerApplication
from application.ledger.changes import LedgerChanges
from application.ledger.commands import RESERVED_CHANNELS as REVERSAL_CHANNELS
from application.ledger.commands import SubmissionResult
from application.ledger.screening import RulesScreening
from application.ports import (
    EventFeed,
    FraudModel,
    ModelLoader,
    ScreeningDecision,
    ScreeningRequest,
)
from application.quarantine import Guard, Quarantine, read_event
from domain.errors import DomainError
from domain.fraud.cases import (
    CaseStatus,
    FraudCase,
    Verdict,
    case_id,
    escalate,
    escalation_id,
)
from domain.fraud.features import FEATURES, FeatureState, Payment, as_decimals
from domain.fraud.registry import REGISTRY_ID, ModelRegistry
from domain.ledger.transactions import ScreeningOutcome, Transaction, TransactionStatus

log = logging.getLogger(__name__)

TOP_FEATURES = 5
_SEVERITY = {ScreeningOutcome.APPROVE: 0, ScreeningOutcome.REVIEW: 1, ScreeningOutcome.DECLINE: 2}


class FraudApplication(Application[UUID]):
    """The model registry (and fraud cases) of the fraud context."""

    name = "fraud"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self._lock = threading.RLock()
        self.registry_listeners: list[Callable[[], None]] = []

    # -- model registry --------------------------------------------------------------

    def registry(self) -> ModelRegistry:
        try:
            registry: ModelRegistry = self.repository.get(REGISTRY_ID)
        except AggregateNotFoundError:
            return ModelRegistry()
        return registry

    def register_model(self, version: str, details: dict[str, Any]) -> bool:
        """Register a trained model; False when it was registered before. Floats in
        ``details`` (metrics) are recorded as decimal strings."""
        with self._lock:
            registry = self.registry()
            if version in registry.models:
                return False
            registry.register(version, decimal_strings(details))
            self.save(registry)
            return True

    def promote(self, version: str, reason: str) -> ModelRegistry:
        """Make ``version`` the model that scores payments (an audited event)."""
        return self._change(lambda registry: registry.promote(version, reason))

    def rollback(self, reason: str) -> ModelRegistry:
        """Go back to the previously promoted model (or to rules only)."""
        return self._change(lambda registry: registry.rollback(reason))

    def promoted_version(self) -> str | None:
        return self.registry().promoted

    def _change(self, change: Callable[[ModelRegistry], None]) -> ModelRegistry:
        with self._lock:
            registry = self.registry()
            try:
                change(registry)
            except DomainError as error:
                raise Conflict(str(error)) from None
            self.save(registry)
        for listener in self.registry_listeners:
            listener()
        return registry


def decimal_strings(value: Any) -> Any:
    """``value`` with every float replaced by its shortest decimal string (events hold no
    floats); dicts, lists and tuples are converted recursively."""
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f") if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {key: decimal_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [decimal_strings(item) for item in value]
    return value


# --------------------------------------------------------------------------- features


def apply_ledger_event(state: FeatureState, event: object) -> None:
    """Fold one ledger event into ``state`` (only transaction events matter)."""
    kind = _transaction_event(event)
    if kind is None:
        return
    data: Any = event
    if kind == "Received":
        if str(data.channel).upper() in REVERSAL_CHANNELS:
            return
        state.observe(received_payment(data), str(data.originator_id))
    elif kind == "Rejected":
        state.observe_rejection(str(data.originator_id))
    elif kind == "Posted":
        state.close_payment(str(data.originator_id))


def _transaction_event(event: object) -> str | None:
    """``"Received"``, ``"Rejected"``, ... for a transaction event; None for others."""
    if not isinstance(event, Transaction.Event):
        return None
    return type(event).__name__


def received_payment(event: Any) -> Payment:
    """The :class:`Payment` of a ``Transaction.Received`` event, at the time the ledger
    recorded it (never the client's ``requestedAt``: a client must not move the windows)."""
    at: datetime = event.timestamp
    return Payment.of(
        str(event.debtor_iban),
        str(event.creditor_iban),
        Decimal(event.amount),
        at,
        dict(event.metadata or {}),
    )


def replay_features(events: Iterable[object]) -> dict[str, dict[str, str]]:
    """Offline: the features of every payment, recomputed from the ledger's event log.

    For each ``Received`` payment, the features from the state of every event before it
    (the same code that runs online); keyed by transaction id, as decimal strings.
    """
    state = FeatureState()
    found: dict[str, dict[str, str]] = {}
    for event in events:
        data: Any = event
        if (
            _transaction_event(event) == "Received"
            and str(data.channel).upper() not in REVERSAL_CHANNELS
        ):
            found[str(data.originator_id)] = as_decimals(state.features(received_payment(data)))
        apply_ledger_event(state, event)
    return found


class OnlineFeatures:
    """A :class:`FeatureState` that follows the ledger's event log incrementally.

    An event it cannot fold in (unreadable, or one that makes the fold raise) is
    quarantined as ``fraud-features`` and skipped (issue #12): scoring goes on without it,
    never stops every payment behind it. The state lives in memory and is replayed from the
    log at every start, so a fixed event is folded in at the next start.
    """

    FOLLOWER = "fraud-features"

    def __init__(
        self,
        feed: EventFeed | None = None,
        batch: int = 1000,
        *,
        quarantine: Quarantine | None = None,
        context: str = "ledger",
    ) -> None:
        self.state = FeatureState()
        self.feed = feed
        self.position = 0
        self.batch = batch
        self.guard = Guard(self.FOLLOWER, context, quarantine)

    def catch_up(self) -> int:
        """Apply the events recorded since the last call; returns how many were read."""
        if self.feed is None:
            return 0
        read = 0
        while True:
            items = self.feed(self.position, self.batch)
            for position, event in items:
                self.guard.handle(position, event, self._fold)
                self.position = position
            read += len(items)
            if len(items) < self.batch:
                return read

    def _fold(self, event: object) -> None:
        apply_ledger_event(self.state, event)


# --------------------------------------------------------------------------- screening


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
            if tuple(model.features) != FEATURES:
                raise ValueError(f"model {version} expects other features: {model.features}")
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
        rules: RulesScreening,
        selector: ModelSelector | None = None,
        *,
        thresholds: ScoreThresholds | None = None,
        blocklist: Iterable[str] = (),
        features: OnlineFeatures | None = None,
    ) -> None:
        self.rules = rules
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
        model = self.selector.current() if self.selector is not None else None
        if model is None:
            if self.selector is not None and self.selector.failed:
                hits.append("model-unavailable")
                if request.debtor_is_ours and outcome is ScreeningOutcome.APPROVE:
                    outcome = ScreeningOutcome.REVIEW
            return ScreeningDecision(outcome, hits)
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
            request.debtor_iban, request.creditor_iban, request.amount, at, request.metadata
        )
        values = state.features(payment)
        vector = [values[name] for name in FEATURES]
        probability, contributions = model.explain(vector)
        score = Decimal(f"{probability:.6f}")
        if request.debtor_is_ours:
            model_outcome = self.thresholds.outcome(score)
            if _SEVERITY[model_outcome] > _SEVERITY[outcome]:
                outcome = model_outcome
                hits.append(f"model-score-{model_outcome.value.lower()}")
        rendered = as_decimals(values)
        ranked = sorted(range(len(FEATURES)), key=lambda i: contributions[i], reverse=True)[
            :TOP_FEATURES
        ]
        top = [
            {
                "feature": FEATURES[i],
                "value": rendered[FEATURES[i]],
                "contribution": f"{contributions[i]:.6f}",
            }
            for i in ranked
        ]
        return ScreeningDecision(outcome, hits, score, model.version, rendered, top)

    def warm_up(self) -> int:
        """Bring the online features up to the head of the log before taking traffic, so
        that the first payment scored does not wait for the whole history. Call it under
        the ledger's write lock; returns how many events were read (0 without a model)."""
        if self.selector is None or self.selector.current() is None:
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


def feature_topics() -> tuple[str, ...]:
    """The topics of the ledger events the online features fold in (the others are not
    even read back: decoding events is most of a catch-up's cost)."""
    return tuple(
        get_topic(getattr(Transaction, kind)) for kind in ("Received", "Rejected", "Posted")
    )


def ledger_feed(app: Application[Any], topics: Sequence[str] = ()) -> EventFeed:
    """An :data:`EventFeed` over an application's notification log (only ``topics``, if given).

    An event that cannot be decoded comes as an :class:`~application.quarantine.Unreadable`
    (the follower quarantines it and goes on) instead of failing the whole read."""

    def feed(after: int, limit: int) -> list[tuple[int, object]]:
        notifications = app.recorder.select_notifications(
            start=after + 1, limit=limit, topics=topics
        )
        return [(n.id, read_event(app.mapper, n)) for n in notifications]

    return feed


# --------------------------------------------------------------------------- cases


class FraudCases:
    """Analyst work on held payments: assign a case, decide it, and act on the ledger.

    A confirmed fraud rejects the held payment (or reverses it, if it was posted in the
    meantime); a false positive releases and posts it. Reversing a posted payment follows
    the same rule as any direct reversal (:meth:`LedgerChanges.check_direct_reversal`):
    above the approval threshold, or in a currency without one, the decision is refused
    with :class:`~application.errors.ApprovalRequired` and nothing changes; the reversal is
    then requested and approved by a second person, and deciding the case again records
    the verdict without reversing twice. The ledger acts first and the
    decision is recorded after it, so a case never says DECIDED while the ledger did not
    act; both are events with the analyst as actor. If recording the decision fails after
    the ledger acted, deciding again finds the payment rejected or reversed and records the
    decision without acting twice.
    """

    def __init__(
        self, fraud: FraudApplication, ledger: LedgerApplication, reversals: LedgerChanges
    ) -> None:
        self.fraud = fraud
        self.ledger = ledger
        self.reversals = reversals

    def _case(self, transaction_id: UUID) -> FraudCase:
        try:
            case: FraudCase = self.fraud.repository.get(case_id(transaction_id))
            return case
        except AggregateNotFoundError:
            pass
        tx = self.ledger.get_transaction(transaction_id)  # NotFound when unknown
        if tx.screening_outcome != ScreeningOutcome.REVIEW.value:
            raise Conflict(f"transaction {transaction_id} was not held for review")
        return FraudCase(str(transaction_id))

    def assign(self, transaction_id: UUID, analyst: str) -> FraudCase:
        with self.fraud._lock:
            case = self._case(transaction_id)
            try:
                case.assign(analyst)
            except DomainError as error:
                raise Conflict(str(error)) from None
            self._save(case)
            return case

    def decide(
        self,
        transaction_id: UUID,
        verdict: Verdict,
        note: str,
        *,
        authorize_reversal: Callable[[], object] | None = None,
    ) -> tuple[FraudCase, SubmissionResult]:
        """Act on the ledger, then record the decision. ``authorize_reversal`` is called
        before a confirmed fraud reverses a posted payment (it raises to refuse); above the
        approval threshold such a reversal raises :class:`ApprovalRequired` instead.
        Returns the case and the reviewed transaction's status after the decision."""
        with self.fraud._lock:
            case = self._case(transaction_id)
            if case.status is CaseStatus.DECIDED:
                raise Conflict(f"case of {transaction_id} is already decided ({case.verdict})")
            tx = self.ledger.get_transaction(transaction_id)
            result = self._act(tx, verdict, note, authorize_reversal)
            try:
                case.decide(verdict, note)
            except DomainError as error:
                raise Conflict(str(error)) from None
            self._save(case)
        return case, result

    def _save(self, case: FraudCase) -> None:
        try:
            self.fraud.save(case)
        except IntegrityError:
            raise Conflict(
                f"case of {case.transaction_id} was changed concurrently; look at it again"
            ) from None

    def _act(
        self,
        tx: Transaction,
        verdict: Verdict,
        note: str,
        authorize_reversal: Callable[[], object] | None,
    ) -> SubmissionResult:
        transaction_id = tx.id
        status = tx.status
        detail = f"fraud case: {verdict.value}" + (f" ({note})" if note else "")
        if status in (TransactionStatus.REJECTED, TransactionStatus.REVERSED):
            # Nothing can move any more (a decision whose recording failed after the ledger
            # acted, or a payment refused meanwhile): the decision is recorded as it stands.
            return SubmissionResult(str(transaction_id), str(status), False, tx.rejection_reason)
        if status not in (TransactionStatus.HELD, TransactionStatus.POSTED):
            raise Conflict(f"transaction {transaction_id} is {status}; nothing to decide")
        if verdict is Verdict.CONFIRMED_FRAUD:
            if status == TransactionStatus.HELD:
                return self.ledger.reject_held(transaction_id, detail)
            if authorize_reversal is not None:
                authorize_reversal()
            # The maker-checker rule of every reversal: no silent reversal above it.
            self.reversals.check_direct_reversal(tx.amount, tx.currency)
            self.ledger.reverse(transaction_id, detail)
            # The answer is about the reviewed payment (now REVERSED), not the reversal.
            return SubmissionResult(str(transaction_id), str(TransactionStatus.REVERSED))
        if status == TransactionStatus.HELD:
            return self.ledger.release_held(transaction_id)
        return SubmissionResult(str(transaction_id), str(status), False, None)


# --------------------------------------------------------------------------- escalation


class OverdueCases(Protocol):
    """The read side's list of payments held for review and still undecided since before
    ``cutoff``, not yet escalated: ``(transaction id, waiting since)``, oldest first."""

    def __call__(self, cutoff: datetime, limit: int) -> Sequence[tuple[str, datetime]]: ...


class CaseEscalation:
    """The fraud role's sweep: escalate every case whose payment has waited for a decision
    longer than the review deadline (once per case; an ``Escalated`` event by the fraud
    service, which the queue shows and notification rules can fire on).

    The list of overdue cases comes from the read model, which may lag: each candidate is
    checked again on the write side (the payment still HELD, the case not decided) and the
    escalation is an aggregate of its own whose id is derived from the transaction, so a
    repeated sweep, or several fraud replicas sweeping at once, record it once (a second
    creation conflicts and is dropped), and an analyst deciding the case meanwhile never
    conflicts with it.
    """

    def __init__(
        self,
        fraud: FraudApplication,
        ledger: LedgerApplication,
        overdue: OverdueCases,
        clock: Callable[[], datetime],
        deadline: timedelta,
        batch: int = 100,
    ) -> None:
        if deadline <= timedelta(0):
            raise ValueError("the review deadline must be positive")
        self.fraud = fraud
        self.ledger = ledger
        self.overdue = overdue
        self.clock = clock
        self.deadline = deadline
        self.batch = batch

    def sweep(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Escalate the overdue cases of one batch, until ``should_stop``; returns how many
        were escalated."""
        cutoff = self.clock() - self.deadline
        minutes = max(int(self.deadline.total_seconds() // 60), 1)
        escalated = 0
        for transaction_id, waiting_since in self.overdue(cutoff, self.batch):
            if should_stop():
                break
            if self._escalate(transaction_id, waiting_since, minutes):
                escalated += 1
                log.info(
                    "fraud case of %s escalated (held since %s)", transaction_id, waiting_since
                )
        return escalated

    def _escalate(self, transaction_id: str, waiting_since: datetime, minutes: int) -> bool:
        if self._exists(escalation_id(transaction_id)):
            return False
        try:
            case: FraudCase = self.fraud.repository.get(case_id(transaction_id))
            if case.status is CaseStatus.DECIDED:
                return False
        except AggregateNotFoundError:
            pass  # no analyst has acted on it yet
        try:
            status = self.ledger.get_transaction(UUID(transaction_id)).status
        except NotFound:
            return False  # not a ledger transaction (a read model out of step): nothing to do
        if status != TransactionStatus.HELD:
            return False  # released, rejected or reversed meanwhile: nothing waits any more
        try:
            self.fraud.save(escalate(transaction_id, waiting_since, minutes))
        except IntegrityError:
            return False  # another replica escalated it first
        return True

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.fraud.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True
