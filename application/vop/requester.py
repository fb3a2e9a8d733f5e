"""The requester side of Verification of Payee: our payer's app asks before it authorises.

:func:`request_check` answers one :class:`PayeeCheckRequest` of one of our channels (the
calling principal is the requester) and records it as a ``VopCheck`` with direction
``REQUESTER``:

* the payee's IBAN is one of our accounts (it is in the account directory): the same
  decision as the responder gives another PSP (:func:`~application.vop.responder.decide`);
* otherwise the payee's PSP is asked through the :class:`~application.vop.ports.PayeePsps`
  port (its responder over HTTP, routed by settings, with a bounded timeout). No route, no
  answer in time, an error or an answer that is not one is ``NOAP`` with reason
  ``PSP_UNAVAILABLE``: never an error to the payer and never blocking the payment (the
  rulebook leaves the decision to pay to the payer).

The check's id is ``uuid5(REQUESTER, requester, request id, 0)``: a channel that sends the
same ``X-Request-ID`` again gets the recorded answer (nothing asked or written twice); the
same id asking something else is a :class:`~application.errors.Conflict`. The check's id is
also our ``X-Request-ID`` at the payee's PSP (not the channel's: see :func:`_ask_peer`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.errors import Conflict
from application.unit_of_work import Clock
from application.vop.ports import AccountDirectory, PayeePsps, PeerAnswer, PeerQuestion
from application.vop.responder import Decision, VopAnswer, VopEntry, answer_of, decide
from domain.vop.checks import Direction, NoapReason, VopCheck, check_id
from domain.vop.outcomes import Outcome, Thresholds

_PEER_REASONS = frozenset(reason.value for reason in NoapReason) - {"PSP_UNAVAILABLE"}


class CheckBook(Protocol):
    """What the use case needs of the vop application (:class:`~application.vop.app.
    VopApplication`): the directory, the thresholds, the clocks, the other PSPs and the
    recorded checks."""

    directory: AccountDirectory
    thresholds: Thresholds
    clock: Clock
    peers: PayeePsps | None
    monotonic: Callable[[], float]

    def find_check(self, check: UUID) -> VopCheck | None: ...


@dataclass(frozen=True, slots=True)
class PayeeCheckRequest:
    """One question of one of our channels, already validated at the edge."""

    request_id: str  # a UUID: the channel's X-Request-ID, or one the edge made
    requester: str  # the calling principal (service:<channel>)
    entry: VopEntry
    payee_bic: str | None = None  # the payee's PSP, when the payer's app knows it
    payer_iban: str | None = None  # the payer's account, when the app sends it


def peer_decision(answer: PeerAnswer | None) -> Decision:
    """Another PSP's answer as our decision (None: it gave no usable answer)."""
    if answer is None:
        return Decision(Outcome.NOT_APPLICABLE, NoapReason.PSP_UNAVAILABLE)
    outcome = Outcome(answer.outcome)
    if outcome is Outcome.NOT_APPLICABLE:
        reason = NoapReason.PSP_UNAVAILABLE  # a reason we do not know is no usable answer
        if answer.reason in _PEER_REASONS:
            reason = NoapReason(answer.reason)
        return Decision(outcome, reason)
    disclosed = answer.matched_name if outcome is Outcome.CLOSE_MATCH else None
    return Decision(outcome, disclosed_name=disclosed)


def request_check(
    app: CheckBook,
    request: PayeeCheckRequest,
    save: Callable[[VopCheck], None],
) -> VopAnswer:
    """Answer ``request`` (ours: the directory; theirs: the payee's PSP) and record it
    through ``save``; a repeat of its request id is answered as recorded."""
    entry = request.entry
    check = check_id(Direction.REQUESTER, request.requester, request.request_id, 0)
    recorded = app.find_check(check)
    if recorded is not None:
        return _repeat(recorded, request)
    started = app.monotonic()
    received_at = app.clock()
    account = app.directory.entries({entry.iban}).get(entry.iban)
    if account is not None:
        decision = decide(entry, account, app.thresholds)
    else:
        decision = _ask_peer(app.peers, request, str(check), received_at)
    latency_us = max(0, int((app.monotonic() - started) * 1_000_000))
    made = VopCheck.answered(
        direction=Direction.REQUESTER.value,
        requester=request.requester,
        request_id=request.request_id,
        entry=0,
        requested_at=received_at,
        received_at=received_at,
        iban=entry.iban,
        requested_name=entry.name,
        requested_identifier=entry.identifier_doc,
        outcome=decision.outcome.value,
        reason=decision.reason.value if decision.reason is not None else None,
        disclosed_name=decision.disclosed_name,
        score=decision.score,
        rule=decision.rule.value if decision.rule is not None else None,
        latency_us=latency_us,
        payer_iban=request.payer_iban,
    )
    try:
        save(made)
    except IntegrityError:
        recorded = app.find_check(check)  # the same request, recorded concurrently
        if recorded is None:
            raise
        return _repeat(recorded, request)
    return answer_of(made)


def _ask_peer(
    peers: PayeePsps | None, request: PayeeCheckRequest, reference: str, at: datetime
) -> Decision:
    """Ask the payee's PSP. Our reference there is the check's id, not the channel's request
    id: the peer keys its checks by (our BIC, reference), and two of our channels may use
    the same request id; the check id is unique per channel and request id."""
    if peers is None:
        return peer_decision(None)
    entry = request.entry
    question = PeerQuestion(
        request_id=reference,
        requested_at=at,
        iban=entry.iban,
        name=entry.name,
        identifier=entry.identifier,
        payee_bic=request.payee_bic,
    )
    return peer_decision(peers.ask(question))


def _repeat(recorded: VopCheck, request: PayeeCheckRequest) -> VopAnswer:
    entry = request.entry
    if not recorded.same_question(entry.iban, entry.name, entry.identifier_doc):
        raise Conflict(
            f"request id {request.request_id} of {request.requester} was used before for "
            "another check"
        )
    return answer_of(recorded, repeated=True)
