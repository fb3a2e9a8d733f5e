"""Verification of Payee end to end (issue 15, "It must show" 4), over PostgreSQL or SQLite and
the real RabbitMQ STOMP broker, with the projector following the logs in the background:

1. the payer's app asks ``POST /v1/vop/checks`` about one of our accounts and is told CMTC with
   the holder's name;
2. the payer pays anyway: a STOMP payment message carrying the ``vopCheckId``;
3. the payment is booked (never blocked by the VoP result), and its fraud decision (the
   promoted model's screening) shows the VoP signal ``vop-close-match`` beside the score;
4. the audit trail links the two: the transaction carries ``vopCheckId`` (GraphQL and its
   ``Received`` event), and ``vopCheck(id)`` / the audit trail of that id show the check.

Every wait is on a condition (``wait_until``), never a sleep.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.persistence import DatabaseConfig
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from api.security import Principal
from domain.causation import Causation, caused_by
from domain.ledger.transactions import Transaction
from tests.broker.conftest import RunningConsumer, start_consumer
from tests.broker.support import Producer, unique_config, wait_until
from tests.builders import iban, message, open_command
from tests.e2e.conftest import SUPERUSER, client_as, gql
from tests.fraud_support import install_models, trained_models  # noqa: F401 - fixture
from tests.poison_support import projector_running, wait_visible

pytestmark = pytest.mark.broker

CHANNEL = Principal("service:mobile", frozenset({"channel"}), kind="service")


@pytest.fixture
def container(
    database: DatabaseConfig,
    trained_models: Path,  # noqa: F811
) -> Iterator[Container]:
    versions = install_models(trained_models, database.data_dir)
    # the model scores every payment; no score holds or declines one (the payer decides)
    settings = (
        Settings()
        .with_database(database)
        .updated(fraud={"review_score": Decimal("1"), "decline_score": Decimal("1")})
    )
    built = bootstrap(settings)
    try:
        with caused_by(Causation("user:mlops", "corr-promote", "CLI")):
            built.fraud.register_model(versions[0], {})
            built.fraud.promote(versions[0], "for the test")
        with projector_running(built):
            yield built
    finally:
        built.close()


@pytest.fixture
def consumer(container: Container) -> Iterator[RunningConsumer]:
    running = start_consumer(unique_config(), container.ledger)
    try:
        yield running
    finally:
        running.halt()


@pytest.fixture
def producer(consumer: RunningConsumer) -> Iterator[Producer]:
    sender = Producer(consumer.config)
    try:
        yield sender
    finally:
        sender.close()


PAYMENT = """
query($id: ID!) {
  transaction(id: $id) {
    id status vopCheckId
    screening { outcome score modelVersion ruleHits features }
  }
}
"""
CHECK = """
query($id: ID!) {
  vopCheck(id: $id) {
    id direction requester iban requestedName outcome disclosedName reason actor
  }
}
"""
TRAIL = """
query($id: ID!) {
  auditTrail(streamId: $id, first: 10) {
    edges { node { context streamType eventType actor channel payload } }
  }
}
"""


def trail(client: Any, stream: str) -> list[dict[str, Any]]:
    edges = gql(client, TRAIL, {"id": stream})["auditTrail"]["edges"]
    return [edge["node"] for edge in edges]


def test_ask_pay_anyway_with_the_check_id_and_the_audit_trail_links_them(
    container: Container, consumer: RunningConsumer, producer: Producer
) -> None:
    payer, payee = iban("DE"), iban("DE")
    container.ledger.open_account(open_command(payer, holder="Max Mustermann"))
    container.ledger.open_account(open_command(payee, holder="Laura Mustermann"))
    with client_as(container, SUPERUSER) as backoffice:
        funded = backoffice.post(
            "/v1/transactions",
            json=message(debtor=iban("NL"), creditor=payer, amount="500.00", channel="SEPA"),
        )
        assert funded.status_code == 202, funded.text
    wait_until(lambda: container.vop_directory.entries([payee]), 30, "the payee in the directory")

    # 1. the payer's app asks, and shows the payer the holder's real name
    with client_as(container, CHANNEL) as app:
        asked = app.post(
            "/v1/vop/checks",
            json={
                "party": {"name": "L. Mustermann"},
                "partyAccount": {"iban": payee},
                "payerAccount": {"iban": payer},
            },
        )
    assert asked.status_code == 200, asked.text
    answer = asked.json()
    assert (answer["partyNameMatch"], answer["matchedName"]) == ("CMTC", "Laura Mustermann")
    check_id = answer["vopCheckId"]
    wait_until(lambda: container.vop_checks.check(check_id), 30, "the check in rm_vop_checks")

    # 2. the payer pays anyway, through the queue, with the check's id
    paid = message(
        debtor=payer, creditor=payee, amount="120.00", external_id="VOP-E2E-1", vopCheckId=check_id
    )
    paid["creditor"]["name"] = "L. Mustermann"  # the name the payer typed
    producer.send(paid)
    tx_id = str(Transaction.create_id("MOBILE", "VOP-E2E-1"))
    wait_visible(container, tx_id, "the payment made after the VoP check")

    with client_as(container, SUPERUSER) as auditor:
        # 3. booked, never blocked; the fraud decision shows the VoP signal beside the score
        payment = gql(auditor, PAYMENT, {"id": tx_id})["transaction"]
        assert payment["status"] == "POSTED"
        screening = payment["screening"]
        assert "vop-close-match" in screening["ruleHits"]
        assert screening["modelVersion"] and Decimal(screening["score"]) >= 0
        assert screening["features"]  # the model's own feature vector is unchanged

        # 4. the audit trail links the check and the payment
        assert payment["vopCheckId"] == check_id
        check = gql(auditor, CHECK, {"id": check_id})["vopCheck"]
        assert check == {
            "id": check_id,
            "direction": "REQUESTER",
            "requester": "service:mobile",
            "iban": payee,
            "requestedName": "L. Mustermann",
            "outcome": "CMTC",
            "disclosedName": "Laura Mustermann",
            "reason": None,
            "actor": "service:mobile",
        }
        (asked_event,) = trail(auditor, check_id)
        assert (asked_event["context"], asked_event["eventType"]) == ("vop", "VopCheck.Answered")
        assert (asked_event["actor"], asked_event["channel"]) == ("service:mobile", "REST")
        received = trail(auditor, tx_id)[0]
        assert received["eventType"] == "Transaction.Received"
        assert received["payload"]["vop_check_id"] == check_id
