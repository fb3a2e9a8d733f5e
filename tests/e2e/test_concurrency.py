"""Concurrent clients posting transfers over REST on PostgreSQL: no lost update, no broken
invariant.

Two independently bootstrapped containers (as two API processes would be) share one
PostgreSQL schema; eight threads post transfers through both. Some payment keys are posted by
every thread at once (a redelivery storm). Afterwards the balances equal what the 202 answers
imply, every currency sums to zero, and no account ever went below its overdraft limit.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from tests.builders import iban, message
from tests.e2e.conftest import SUPERUSER, client_as

THREADS = 8
TRANSFERS_PER_THREAD = 25
CONTENDED = 6
OVERDRAFT = Decimal("100.00")


@pytest.fixture
def containers(postgres_database: DatabaseConfig) -> Iterator[list[Container]]:
    # Contention is the subject here, not throttling: every request is one principal.
    settings = (
        Settings().updated(http={"rate_limit_per_second": 0}).with_database(postgres_database)
    )
    built = [bootstrap(settings), bootstrap(settings)]
    try:
        yield built
    finally:
        for container in built:
            container.close()


@pytest.mark.postgres
def test_concurrent_transfers_lose_no_update(containers: list[Container]) -> None:
    clients = [client_as(c, SUPERUSER) for c in containers]
    for client in clients:
        client.__enter__()
    try:
        _run(containers, clients)
    finally:
        for client in clients:
            client.__exit__(None, None, None)


def _run(containers: list[Container], clients: list[TestClient]) -> None:
    accounts = [iban("DE") for _ in range(4)]
    for key in accounts:
        opened = clients[0].post(
            "/v1/accounts",
            json={
                "iban": key,
                "holderName": "Concurrent Holder",
                "currency": "EUR",
                "overdraftLimit": str(OVERDRAFT),
            },
        )
        assert opened.status_code == 201, opened.text
        funded = clients[1].post(
            "/v1/transactions",
            json=message(debtor=iban("NL"), creditor=key, amount="500.00", channel="SEPA"),
        )
        assert funded.json()["status"] == "POSTED"

    contended = [
        message(debtor=accounts[i % 4], creditor=accounts[(i + 1) % 4], amount="7.00")
        for i in range(CONTENDED)
    ]
    answers: list[tuple[dict[str, Any], int, dict[str, Any]]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(number: int) -> None:
        rng = random.Random(number)
        try:
            start.wait()
            plan = [
                message(
                    debtor=(debtor := rng.choice(accounts)),
                    creditor=rng.choice([a for a in accounts if a != debtor]),
                    amount=f"{rng.randint(1, 250)}.{rng.randint(0, 99):02d}",
                    channel="MOBILE",
                )
                for _ in range(TRANSFERS_PER_THREAD)
            ]
            plan[3:3] = contended  # every thread posts the contended keys too
            for index, body in enumerate(plan):
                client = clients[(number + index) % len(clients)]
                response = client.post("/v1/transactions", json=body)
                with lock:
                    answers.append((body, response.status_code, response.json()))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not errors, errors
    assert len(answers) == THREADS * (TRANSFERS_PER_THREAD + CONTENDED)

    statuses = {code for _, code, _ in answers}
    assert statuses <= {200, 202}, [a for a in answers if a[1] not in (200, 202)][:3]

    # One transaction per idempotency key, whoever answered.
    by_key: dict[tuple[str, str], set[str]] = defaultdict(set)
    for body, _, answer in answers:
        by_key[(body["channel"], body["externalId"])].add(answer["transactionId"])
    assert all(len(ids) == 1 for ids in by_key.values())
    for body in contended:
        replies = [code for sent, code, _ in answers if sent["externalId"] == body["externalId"]]
        assert sorted(replies).count(202) == 1, replies  # booked once, the rest are repeats

    expected = {key: Decimal("500.00") for key in accounts}
    posted: dict[str, dict[str, Any]] = {}
    for body, _, answer in answers:
        if answer["status"] == "POSTED":
            posted[answer["transactionId"]] = body
        else:
            assert (answer["status"], answer["reason"]) == ("REJECTED", "INSUFFICIENT_FUNDS")
    for body in posted.values():
        amount = Decimal(body["amount"])
        expected[body["debtor"]["iban"]] -= amount
        expected[body["creditor"]["iban"]] += amount
    assert len(posted) > THREADS * TRANSFERS_PER_THREAD // 2

    ledger = containers[0].ledger
    for key in accounts:
        assert ledger.get_account(key).balance == expected[key], key

    container = containers[1]
    container.projector.catch_up()
    for key in accounts:
        view = container.queries.account(key)
        assert view is not None
        assert view.balance == expected[key]
        assert view.held == 0
        after = None
        while True:
            page = container.queries.postings(key, 200, after)
            for _, posting in page.edges:
                assert posting.balance_after >= -OVERDRAFT, (key, posting)
            if not page.has_next_page:
                break
            after = page.end_cursor
    report = container.queries.trial_balance()
    assert [t.balance_sum for t in report.totals] == [Decimal(0)]
    assert report.totals[0].debits == report.totals[0].credits
