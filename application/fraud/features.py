"""Online fraud features: the ledger's log folded into a
:class:`~domain.fraud.features.FeatureState`, online and offline by the same code.

:class:`OnlineFeatures` reads only the events recorded since its last position (through an
:data:`~application.ports.EventFeed`, see :func:`ledger_feed`); :func:`replay_features`
recomputes every payment's features offline (training).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from application.fraud.payee import payee_check_outcome
from application.ports import EventFeed
from application.quarantine import Guard, Quarantine, read_event
from domain.fraud.features import FeatureState, Payment, as_decimals
from domain.ledger.accounts import Account
from domain.ledger.transactions import RESERVED_CHANNELS, Transaction

# event classes made by @event, unknown to mypy
_ACCOUNT_OPENED: type = getattr(Account, "Opened")  # noqa: B009
_SCREENED: type = getattr(Transaction, "Screened")  # noqa: B009


def apply_ledger_event(state: FeatureState, event: object) -> None:
    """Fold one ledger event into ``state`` (transaction events and account openings)."""
    data: Any = event
    if isinstance(event, _ACCOUNT_OPENED):
        state.observe_account(str(data.key), data.timestamp.timestamp())
        return
    kind = _transaction_event(event)
    if kind is None:
        return
    if kind == "Received":
        if str(data.channel).upper() in RESERVED_CHANNELS:
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


def received_payment(event: Any, payee_check: str = "") -> Payment:
    """The :class:`Payment` of a ``Transaction.Received`` event, at the time the ledger
    recorded it (never the client's ``requestedAt``: a client must not move the windows)."""
    at: datetime = event.timestamp
    return Payment.of(
        str(event.debtor_iban),
        str(event.creditor_iban),
        Decimal(event.amount),
        at,
        dict(event.metadata or {}),
        channel=str(event.channel),
        payee_check=payee_check,
    )


def replay_features(events: Iterable[object]) -> dict[str, dict[str, str]]:
    """Offline: the features of every payment, recomputed from the ledger's event log.

    For each ``Received`` payment, the features from the state of every event before it
    (the same code that runs online); keyed by transaction id, as decimal strings. The
    payee-name check outcome of a payment comes from its recorded screening (``Screened``,
    its ``vop-*`` rule hits, which is what the online screening derived it from), so the
    events must include the ``Screened`` ones (:func:`replay_topics`).
    """
    history = events if isinstance(events, list) else list(events)
    hits = {
        str(getattr(e, "originator_id", "")): list(getattr(e, "rule_hits", None) or [])
        for e in history
        if _transaction_event(e) == "Screened"
    }
    state = FeatureState()
    found: dict[str, dict[str, str]] = {}
    for event in history:
        data: Any = event
        if (
            _transaction_event(event) == "Received"
            and str(data.channel).upper() not in RESERVED_CHANNELS
        ):
            tx_id = str(data.originator_id)
            check = payee_check_outcome(data.vop_check_id, hits.get(tx_id, []))
            found[tx_id] = as_decimals(state.features(received_payment(data, check)))
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


def feature_topics() -> tuple[str, ...]:
    """The topics of the ledger events the online features fold in (the others are not
    even read back: decoding events is most of a catch-up's cost)."""
    return (
        *(get_topic(getattr(Transaction, kind)) for kind in ("Received", "Rejected", "Posted")),
        get_topic(_ACCOUNT_OPENED),
    )


def replay_topics() -> tuple[str, ...]:
    """The topics :func:`replay_features` needs: the online ones and ``Screened`` (the
    payee-name check outcome each payment was screened with)."""
    return (*feature_topics(), get_topic(_SCREENED))


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
