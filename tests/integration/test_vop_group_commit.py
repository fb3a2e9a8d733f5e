"""Group commit of VoP checks through the real event store (SQLite and PostgreSQL): concurrent
requests share commits, a repeated request id among them is answered as recorded (or is a
conflict) and costs the others nothing, and every new check is written exactly once."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.persistence import DatabaseConfig, event_store_env
from application.errors import Conflict
from application.vop import app as vop_app
from application.vop.app import VopApplication
from application.vop.ports import DirectoryEntry
from application.vop.responder import VopAnswer, VopEntry, VopRequest
from tests.integration.test_projection_support import iban

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
PERSON = DirectoryEntry(iban(1), "NATURAL", "John Smith", (), (), "OPEN")


class Directory:
    def entries(self, ibans: Any) -> dict[str, DirectoryEntry]:
        return {i: PERSON for i in ibans if i == PERSON.iban}


def _request(request_id: str, name: str = "John Smith") -> VopRequest:
    return VopRequest(request_id, "BANKFRPPXXX", AT, (VopEntry(PERSON.iban, name),))


def test_concurrent_requests_share_commits_and_a_repeat_costs_the_others_nothing(
    database: DatabaseConfig,
) -> None:
    # A long wait makes the concurrent requests land in the same batches.
    vop = VopApplication(
        env=event_store_env(database, "vop"), directory=Directory(), commit_max_wait=0.2
    )
    try:

        def answer(request: VopRequest) -> list[VopAnswer] | Exception:
            try:
                return vop.respond(request)
            except Conflict as refused:
                return refused

        def concurrently(requests: list[VopRequest]) -> list[list[VopAnswer] | Exception]:
            with ThreadPoolExecutor(len(requests)) as pool:
                return list(pool.map(answer, requests))

        batched = concurrently([_request(f"r-{n}") for n in range(1, 9)])
        assert all(isinstance(o, list) and not o[0].repeated for o in batched)
        assert vop.committer.commits < 8  # they shared commits

        (first,) = vop.respond(_request("r-0"))
        requests = [_request(f"r-{n}") for n in range(9, 17)]
        requests += [_request("r-0"), _request("r-0", "Peter Miller")]
        outcomes = concurrently(requests)
        fresh = outcomes[:8]
        assert all(isinstance(o, list) and not o[0].repeated for o in fresh)
        repeated = outcomes[8]
        assert isinstance(repeated, list) and repeated[0].repeated
        assert repeated[0].check_id == first.check_id
        assert isinstance(outcomes[9], Conflict)
        written = vop.recorder.select_notifications(start=1, limit=100)
        assert len(written) == 17  # r-0 once, r-1 .. r-16 once each
        assert len({n.originator_id for n in written}) == 17
    finally:
        vop.close()


def test_closing_the_application_refuses_further_saves(database: DatabaseConfig) -> None:
    vop = VopApplication(env=event_store_env(database, "vop"), directory=Directory())
    vop.respond(_request("r-1"))
    vop.close()
    with pytest.raises(RuntimeError, match="closed"):
        vop.respond(_request("r-2"))


def test_answering_known_accounts_in_an_event_loop_records_and_repeats_alike(
    database: DatabaseConfig,
) -> None:
    """``respond_known`` (the route's path when the cache knows every IBAN) awaits the group
    commit; a repeat is answered as recorded, another question under the id is a conflict."""
    vop = VopApplication(env=event_store_env(database, "vop"), directory=Directory())
    known = {PERSON.iban: PERSON}

    async def scenario() -> None:
        answers = await asyncio.gather(
            *(vop.respond_known(_request(f"r-{n}", "J. Smith"), known) for n in range(5))
        )
        assert [a[0].outcome.value for a in answers] == ["CMTC"] * 5
        (again,) = await vop.respond_known(_request("r-0", "J. Smith"), known)
        assert again.repeated and again.check_id == answers[0][0].check_id
        with pytest.raises(Conflict):
            await vop.respond_known(_request("r-0", "Peter Miller"), known)

    try:
        asyncio.run(scenario())
        assert len(vop.recorder.select_notifications(start=1, limit=100)) == 5
    finally:
        vop.close()


def test_closing_waits_for_the_last_save_before_closing_the_store(
    database: DatabaseConfig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A save still under way when the application closes (a slow database) is let finish:
    the store is closed after it, not under it (the wait is logged)."""
    monkeypatch.setattr(vop_app, "COMMIT_CLOSE_WAIT", 0.05, raising=False)
    vop = VopApplication(env=event_store_env(database, "vop"), directory=Directory())
    save = vop.committer._save
    entered, gate = threading.Event(), threading.Event()

    def slow_save(*events: Any) -> None:
        entered.set()
        gate.wait(10)
        save(*events)

    vop.committer._save = slow_save
    with ThreadPoolExecutor(2) as pool, caplog.at_level(logging.WARNING, "application.vop.app"):
        answered = pool.submit(vop.respond, _request("r-1"))
        assert entered.wait(5)
        closing = pool.submit(vop.close)
        while "still saving" not in caplog.text and not vop.closing.is_set():
            threading.Event().wait(0.01)
        assert not vop.closing.is_set()  # the store stays open while the save runs
        gate.set()
        closing.result(10)
        (answer,) = answered.result(10)
    assert not answer.repeated and vop.closing.is_set()


def test_a_request_cancelled_while_waiting_leaves_the_writer_answering(
    database: DatabaseConfig,
) -> None:
    """The route's in-loop path: a request whose client went away (its task cancelled)
    while an earlier commit is under way is not written, and later requests are answered
    (the writer thread died of it before)."""
    vop = VopApplication(env=event_store_env(database, "vop"), directory=Directory())
    known = {PERSON.iban: PERSON}
    save = vop.committer._save
    entered, gate = threading.Event(), threading.Event()

    def held_save(*events: Any) -> None:
        entered.set()
        gate.wait(10)
        save(*events)

    vop.committer._save = held_save

    async def scenario() -> None:
        first = asyncio.create_task(vop.respond_known(_request("r-1"), known))
        while not entered.is_set():
            await asyncio.sleep(0.001)
        gone = asyncio.create_task(vop.respond_known(_request("r-2"), known))
        while vop.committer._queue.qsize() < 1:
            await asyncio.sleep(0.001)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        await asyncio.sleep(0)  # the loop passes the cancellation on to the commit's future
        gate.set()
        assert not (await first)[0].repeated
        (later,) = await asyncio.wait_for(vop.respond_known(_request("r-3"), known), 10)
        assert not later.repeated

    try:
        asyncio.run(scenario())
        assert vop.committer.alive
        written = vop.recorder.select_notifications(start=1, limit=10)
        assert len(written) == 2  # r-1 and r-3; r-2 was left out
    finally:
        vop.close()
