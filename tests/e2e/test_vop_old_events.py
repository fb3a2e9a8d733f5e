"""Event logs written before the VoP requester existed still replay: a
``Transaction.Received`` without ``vop_check_id`` and a ``VopCheck.Answered`` without
``payer_iban`` (stored events built without the key, as the old code wrote them) load
through their aggregates and project into the read models (REST, GraphQL, the fraud
screening's lookup) with the field empty."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import StoredEvent

from adapters.fraud.payee_checks import ReadModelPayeeChecks
from api.runtime.bootstrap import Container
from api.security import Principal
from domain.causation import Causation, caused_by
from domain.ledger.transactions import Transaction
from domain.vop.checks import Direction, VopCheck
from tests.builders import iban
from tests.e2e.conftest import SUPERUSER, client_as, gql, project

AUDITOR = Principal("user:audrey", frozenset({"auditor"}))
AT = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


def store_as_before(app: Any, aggregate: Any, dropped: str) -> None:
    """Record ``aggregate``'s new events with ``dropped`` removed from the first one's
    stored state, as a version without that field wrote it."""
    stored = [app.mapper.to_stored_event(event) for event in aggregate.collect_events()]
    first = stored[0]
    state = json.loads(first.state)
    assert dropped in state  # the current code writes it
    del state[dropped]
    stored[0] = StoredEvent(
        originator_id=first.originator_id,
        originator_version=first.originator_version,
        topic=first.topic,
        state=json.dumps(state, separators=(",", ":")).encode(),
    )
    app.recorder.insert_events(stored)


def test_an_old_received_event_replays_without_a_check_id(container: Container) -> None:
    with caused_by(Causation(actor="service:ingestion", channel="STOMP")):
        tx = Transaction(
            channel="MOBILE",
            external_id="OLD-1",
            amount=Decimal("12.50"),
            currency="EUR",
            debtor_iban=iban("DE"),
            debtor_name="A",
            creditor_iban=iban("DE"),
            creditor_name="B",
            reference="old",
            requested_at=None,
            metadata={},
            reverses=None,
        )
    store_as_before(container.ledger, tx, "vop_check_id")
    loaded = container.ledger.get_transaction(tx.id)
    assert (loaded.vop_check_id, loaded.external_id) == (None, "OLD-1")
    project(container)
    with client_as(container, SUPERUSER) as admin:
        shown = admin.get(f"/v1/transactions/{tx.id}")
        assert shown.status_code == 200, shown.text
        assert shown.json().get("vopCheckId") is None
        query = "query($id: ID!) { transaction(id: $id) { id vopCheckId } }"
        assert gql(admin, query, {"id": str(tx.id)})["transaction"]["vopCheckId"] is None


def test_an_old_answered_event_replays_without_a_payer(container: Container) -> None:
    payee = iban("DE")
    with caused_by(Causation(actor="service:mobile", channel="REST")):
        check = VopCheck.answered(
            direction=Direction.REQUESTER.value,
            requester="service:mobile",
            request_id="0b7e3c52-2f0b-4f43-9d8e-0c4b1f7a6e21",
            entry=0,
            requested_at=AT,
            received_at=AT,
            iban=payee,
            requested_name="Jan",
            requested_identifier=None,
            outcome="NMTC",
            reason=None,
            disclosed_name=None,
            score=12.0,
            rule="NAME",
            latency_us=5,
            payer_iban=None,
        )
    store_as_before(container.vop, check, "payer_iban")
    loaded = container.vop.get_check(check.id)
    assert (loaded.payer_iban, loaded.outcome.value) == (None, "NMTC")
    project(container)
    seen = ReadModelPayeeChecks(container.vop_checks).payee_check(str(check.id))
    assert seen is not None
    assert (seen.outcome, seen.iban, seen.payer_iban) == ("NMTC", payee, None)
    with client_as(container, AUDITOR) as auditor:
        query = "query($id: ID!) { vopCheck(id: $id) { id outcome requester } }"
        shown = gql(auditor, query, {"id": str(check.id)})["vopCheck"]
        assert (shown["outcome"], shown["requester"]) == ("NMTC", "service:mobile")
