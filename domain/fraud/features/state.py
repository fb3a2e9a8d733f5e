"""The state behind every feature, updated payment by payment, with an undo journal.

:meth:`FeatureState.features` reads the state *before* a payment,
:meth:`FeatureState.observe` then folds the payment in, :meth:`FeatureState.observe_rejection`
records a rejection and :meth:`FeatureState.observe_account` an account the ledger opened.
Every change goes through :meth:`FeatureState._put`, which can keep an undo journal: a unit
of work observes its payments tentatively (later payments of a batch see earlier ones) and
:meth:`FeatureState.rollback` drops them again. Values in the dictionaries are immutable, so
undo is restoring a reference.
"""

from __future__ import annotations

from typing import Any

from domain.fraud.features import base, graph, profile, recurring
from domain.fraud.features.base import CreditorState, DebtorState
from domain.fraud.features.common import Payment
from domain.fraud.features.graph import Inbound
from domain.fraud.features.profile import KNOWN_PAYEE, NEW_PAYEE, RECURRING_PAYEE, Profile
from domain.fraud.features.recurring import Pair

FEATURES: tuple[str, ...] = base.NAMES + profile.NAMES + recurring.NAMES + graph.NAMES
"""The feature names, in the order a model trained now sees them (the first twenty are the
features of the first models: a model lists its own, see ``FraudModel.features``)."""

_MISSING = object()


def _kind(pair: Pair | None) -> int:
    if pair is None:
        return NEW_PAYEE
    return RECURRING_PAYEE if recurring.recurring(pair) else KNOWN_PAYEE


class FeatureState:
    """Per-debtor, per-creditor and per-pair state, updated payment by payment."""

    def __init__(self) -> None:
        self.debtors: dict[str, DebtorState] = {}
        self.creditors: dict[str, CreditorState] = {}
        self.pairs: dict[tuple[str, str], Pair] = {}
        self.profiles: dict[str, Profile] = {}
        self.inbound: dict[str, Inbound] = {}
        self.opened: dict[str, float] = {}
        """Account key (the IBAN of a customer account) -> when the ledger opened it."""
        self.open_payments: dict[str, tuple[str, float]] = {}
        """Transaction id -> (debtor, time), for payments whose rejection may still come."""
        self._journal: list[tuple[dict[Any, Any], Any, Any]] | None = None

    # -- journal ---------------------------------------------------------------------

    def begin(self) -> None:
        """Start journalling changes so that :meth:`rollback` can undo them."""
        self._journal = []

    def rollback(self) -> None:
        """Undo every change since :meth:`begin` and stop journalling."""
        journal = self._journal or []
        self._journal = None
        for mapping, key, old in reversed(journal):
            if old is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old

    @property
    def journalling(self) -> bool:
        return self._journal is not None

    def _put(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        if self._journal is not None:
            self._journal.append((mapping, key, mapping.get(key, _MISSING)))
        if value is _MISSING:
            mapping.pop(key, None)
        else:
            mapping[key] = value

    # -- features --------------------------------------------------------------------

    def features(self, payment: Payment) -> dict[str, float]:
        """The features of ``payment`` from the state before it (nothing is changed)."""
        debtor = self.debtors.get(payment.debtor) or DebtorState()
        pair = self.pairs.get((payment.debtor, payment.creditor))
        values, outflow = base.base_features(
            payment,
            debtor,
            self.creditors.get(payment.creditor),
            self.creditors.get(payment.debtor),
            pair is None,
        )
        habits = self.profiles.get(payment.debtor) or Profile()
        values.update(
            profile.profile_features(
                payment, habits, debtor.count, len(debtor.devices), _kind(pair), outflow
            )
        )
        values.update(recurring.recurring_features(payment, pair, habits.recurring_amounts))
        values.update(
            graph.graph_features(
                payment,
                self.inbound.get(payment.creditor),
                self.opened.get(payment.creditor),
                self.opened.get(payment.debtor),
            )
        )
        return {name: round(values[name], 6) for name in FEATURES}

    # -- updates ---------------------------------------------------------------------

    def observe(self, payment: Payment, transaction_id: str | None = None) -> None:
        """Fold ``payment`` into the state (after its features were read)."""
        now = payment.at
        key = (payment.debtor, payment.creditor)
        pair = self.pairs.get(key)
        debtor = self.debtors.get(payment.debtor) or DebtorState()
        self._put(self.debtors, payment.debtor, base.next_debtor(debtor, payment))
        creditor = self.creditors.get(payment.creditor) or CreditorState()
        self._put(self.creditors, payment.creditor, base.next_creditor(creditor, now, pair is None))
        paired = recurring.next_pair(pair, payment)
        self._put(self.pairs, key, paired)
        habits = self.profiles.get(payment.debtor) or Profile()
        amounts = habits.recurring_amounts
        if recurring.recurring(paired) or recurring.recurring(pair):
            amounts = recurring.next_recurring_amounts(amounts, payment.creditor, paired)
        self._put(
            self.profiles,
            payment.debtor,
            profile.next_profile(habits, payment, _kind(pair), amounts),
        )
        became = recurring.recurring(paired) and not recurring.recurring(pair)
        inbound = graph.next_inbound(self.inbound.get(payment.creditor), payment, pair, became)
        self._put(self.inbound, payment.creditor, inbound)
        if transaction_id is not None:
            self._put(self.open_payments, transaction_id, (payment.debtor, now))

    def observe_account(self, key: str, opened_at: float) -> None:
        """The ledger opened account ``key`` (an IBAN for a customer account) at ``opened_at``."""
        if key not in self.opened:
            self._put(self.opened, key, opened_at)

    def observe_rejection(self, transaction_id: str) -> None:
        """The payment ``transaction_id`` was rejected; it counts at the payment's own time
        (the clock every other feature uses), whenever the rejection was recorded."""
        open_payment = self.open_payments.get(transaction_id)
        if open_payment is None:
            return
        debtor_key, at = open_payment
        self._put(self.open_payments, transaction_id, _MISSING)
        debtor = self.debtors.get(debtor_key) or DebtorState()
        self._put(self.debtors, debtor_key, base.with_rejection(debtor, at))

    def close_payment(self, transaction_id: str) -> None:
        """The payment ``transaction_id`` reached a final state other than rejection."""
        if transaction_id in self.open_payments:
            self._put(self.open_payments, transaction_id, _MISSING)
