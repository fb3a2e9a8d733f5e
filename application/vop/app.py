"""The vop application: the Verification of Payee responder, every check an event.

:meth:`VopApplication.respond` answers another PSP's request (one entry, or a bulk request
of several): it looks the IBANs up in the account directory (the :class:`AccountDirectory`
port: the read model of the ledger's customer accounts), decides each entry
(:func:`~application.vop.responder.decide`: NOAP for unknown and closed accounts, never an
error; otherwise the domain's matching) and records one :class:`~domain.vop.checks.VopCheck`
per entry, all in one ``save``.

A request the PSP sends again with the same request id is answered as recorded (the checks'
ids derive from requester, request id and entry), not checked and recorded twice; the same
request id asking something else is a :class:`~application.errors.Conflict`.

:meth:`VopApplication.request_check` is the requester side (our payer asks before paying,
:mod:`application.vop.requester`). Every check of either side is written through
:meth:`VopApplication._save_checks`, the one way a check is saved: a
:class:`~application.vop.group_commit.GroupCommitter` writes the checks of concurrent
requests in one commit (``commit_batch_size`` checks at most, waiting at most
``commit_max_wait`` seconds for more), and each request returns once its own are durable.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from application.errors import Conflict, NotFound
from application.unit_of_work import Clock, utc_now
from application.vop.group_commit import GroupCommitter
from application.vop.ports import AccountDirectory, DirectoryEntry, PayeePsps
from application.vop.requester import PayeeCheckRequest, request_check
from application.vop.responder import VopAnswer, VopRequest, answer_of, decide
from domain.vop.checks import Direction, VopCheck, check_id
from domain.vop.outcomes import DEFAULT_THRESHOLDS, Thresholds

Monotonic = Callable[[], float]

COMMIT_CLOSE_WAIT = 5.0
"""Seconds :meth:`VopApplication.close` waits for the group commit's writer to stop."""
COMMIT_CLOSE_GRACE = 25.0
"""Seconds more it waits, logging, when a save is still under way (a slow database)."""

log = logging.getLogger(__name__)


class VopApplication(Application[UUID]):
    """Checks of the vop context: every answer is a ``VopCheck``'s ``Answered`` event."""

    name = "vop"

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        directory: AccountDirectory,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        clock: Clock = utc_now,
        monotonic: Monotonic = time.perf_counter,
        peers: PayeePsps | None = None,
        commit_batch_size: int = 500,
        commit_max_wait: float = 0.0,
    ) -> None:
        super().__init__(env)
        self.directory = directory
        self.thresholds = thresholds
        self.clock = clock
        self.monotonic = monotonic
        self.peers = peers
        """Other PSPs' responders, for the requester side (None: every other PSP is NOAP)."""
        self._lock = threading.Lock()
        self.committer = GroupCommitter(
            self._save_now, batch_size=commit_batch_size, max_wait=commit_max_wait
        )

    def _save_checks(self, *checks: VopCheck) -> None:
        """Save ``checks`` in one commit (perhaps with other requests' checks); returns once
        they are durable. ``IntegrityError``: one of them was recorded before (nothing of
        this call was written). Their events are taken from them first: a batch that fails
        is saved again member by member, and ``save`` would find an aggregate's pending
        events already collected by the failed attempt."""
        self.committer.save(*(event for check in checks for event in check.collect_events()))

    def _save_now(self, *events: VopCheck.Event) -> None:
        with self._lock:
            self.save(*events)

    def close(self) -> None:
        """Stop the group commit, then close the store: only once the writer stopped (its last
        save must not find the store closed under it), or after a longer bounded wait."""
        if not self.committer.close(COMMIT_CLOSE_WAIT):
            log.warning(
                "vop: the group commit is still saving after %ss; waiting up to %ss more",
                COMMIT_CLOSE_WAIT,
                COMMIT_CLOSE_GRACE,
            )
            if not self.committer.wait_stopped(COMMIT_CLOSE_GRACE):
                log.error("vop: the group commit did not stop; closing its store anyway")
        super().close()

    def respond(self, request: VopRequest) -> list[VopAnswer]:
        """Answer every entry of ``request`` (in order) and record each as a check."""
        started = self.monotonic()
        received_at = self.clock()
        accounts = self.directory.entries({entry.iban for entry in request.entries})
        checks = self._answered(request, accounts, started, received_at)
        try:
            self._save_checks(*checks)
        except IntegrityError:
            return self._repeated(request)
        return [answer_of(check) for check in checks]

    async def respond_known(
        self, request: VopRequest, accounts: Mapping[str, DirectoryEntry]
    ) -> list[VopAnswer]:
        """:meth:`respond` for a request whose accounts the caller has already (all of them
        in the directory cache): nothing blocks, the group commit is awaited, so an event
        loop answers it without handing it to a thread."""
        started = self.monotonic()
        checks = self._answered(request, accounts, started, self.clock())
        events = [event for check in checks for event in check.collect_events()]
        try:
            await asyncio.wrap_future(self.committer.submit(*events))
        except IntegrityError:
            return await asyncio.to_thread(self._repeated, request)
        return [answer_of(check) for check in checks]

    def _answered(
        self,
        request: VopRequest,
        accounts: Mapping[str, DirectoryEntry],
        started: float,
        received_at: datetime,
    ) -> list[VopCheck]:
        checks = []
        for position, entry in enumerate(request.entries):
            decision = decide(entry, accounts.get(entry.iban), self.thresholds)
            latency_us = max(0, int((self.monotonic() - started) * 1_000_000))
            checks.append(
                VopCheck.answered(
                    direction=Direction.RESPONDER.value,
                    requester=request.requester,
                    request_id=request.request_id,
                    entry=position,
                    requested_at=request.requested_at,
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
                )
            )
        return checks

    def request_check(self, request: PayeeCheckRequest) -> VopAnswer:
        """Our channel asks about a payee before its payer authorises a payment; recorded as
        a ``REQUESTER`` check (:func:`application.vop.requester.request_check`)."""
        return request_check(self, request, self._save_checks)

    def _repeated(self, request: VopRequest) -> list[VopAnswer]:
        """A request id seen before: the recorded answers, when it asks the same."""
        answers = []
        for position, entry in enumerate(request.entries):
            recorded = self._find(
                check_id(Direction.RESPONDER, request.requester, request.request_id, position)
            )
            if recorded is None or not recorded.same_question(
                entry.iban, entry.name, entry.identifier_doc
            ):
                raise Conflict(
                    f"request id {request.request_id} of {request.requester} was used "
                    "before for another check"
                )
            answers.append(answer_of(recorded, repeated=True))
        return answers

    def _find(self, check: UUID) -> VopCheck | None:
        try:
            found: VopCheck = self.repository.get(check)
        except AggregateNotFoundError:
            return None
        return found

    def find_check(self, check: UUID) -> VopCheck | None:
        """The recorded check, or None."""
        return self._find(check)

    def get_check(self, check: UUID) -> VopCheck:
        found = self._find(check)
        if found is None:
            raise NotFound(f"no VoP check {check}")
        return found
