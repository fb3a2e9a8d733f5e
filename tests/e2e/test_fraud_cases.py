"""A payment the model scores REVIEW: held funds, an open case with its explanation over
GraphQL, the analyst's decision posts or rejects it, and every step is in the audit trail."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from uuid import UUID

import pytest

from adapters.fraud.artifacts import ArtifactStore
from adapters.persistence import DatabaseConfig
from api.cli.main import main
from api.runtime.settings import Settings
from application.fraud.screening import ScoreThresholds
from domain.causation import Causation, caused_by
from domain.fraud.cases import Verdict
from tests.builders import iban
from tests.e2e.conftest import fund, gql, gql_errors, open_account, pay, project
from tests.fraud_support import install_models, trained_models  # noqa: F401 - fixture

CASE_FIELDS = """
  id status verdict assignee transactionStatus
  amount { amount currency } held { amount currency }
  score modelVersion ruleHits topFeatures { feature value contribution }
  transaction { id status screening { outcome score modelVersion ruleHits
                topFeatures { feature value contribution } features } }
"""


@pytest.fixture
def settings(database: DatabaseConfig, trained_models) -> Settings:  # noqa: F811
    install_models(trained_models, database.data_dir)
    # Every outgoing payment the model scores is held for review; nothing is declined.
    return (
        Settings()
        .with_database(database)
        .updated(fraud={"review_score": Decimal("0"), "decline_score": Decimal("1")})
    )


@pytest.fixture
def promoted(container, trained_models, database):  # noqa: F811
    versions = install_models(trained_models, database.data_dir)
    with caused_by(Causation("user:mlops", "corr-promote", "CLI")):
        container.fraud.register_model(versions[0], {})
        container.fraud.promote(versions[0], "for the test")
    return versions[0]


def account(client, key):
    query = "query($id: String!) { account(id: $id) { balance { amount } held { amount } } }"
    return gql(client, query, {"id": key})["account"]


def test_review_holds_funds_opens_a_case_and_the_analyst_decides(
    client, container, promoted, clock
):
    debtor = open_account(client)
    fund(client, debtor, "5000.00")
    released = pay(client, debtor=debtor, creditor=iban("FR"), amount="120.00")
    clock.advance(60)
    rejected = pay(client, debtor=debtor, creditor=iban("NL"), amount="80.00")
    assert released["status"] == rejected["status"] == "HELD"
    project(container)
    assert account(client, debtor)["held"]["amount"] == "200.00"

    cases = gql(
        client,
        f"{{ fraudCases(status: OPEN, first: 1) {{ edges {{ cursor node {{ {CASE_FIELDS} }} }} "
        "pageInfo { hasNextPage endCursor } } }",
    )["fraudCases"]
    (edge,) = cases["edges"]
    assert cases["pageInfo"]["hasNextPage"] is True
    newest = edge["node"]
    assert newest["id"] == rejected["transactionId"]  # newest first
    assert newest["status"] == "OPEN" and newest["transactionStatus"] == "HELD"
    assert newest["held"] == {"amount": "80.00", "currency": "EUR"}
    assert newest["modelVersion"] == promoted and Decimal(newest["score"]) >= 0
    assert "model-score-review" in newest["ruleHits"] and len(newest["topFeatures"]) == 5
    screening = newest["transaction"]["screening"]
    assert screening["outcome"] == "REVIEW" and screening["modelVersion"] == promoted
    assert screening["topFeatures"] == newest["topFeatures"]
    assert screening["features"]["amount_log"]
    after = cases["pageInfo"]["endCursor"]
    query = "query($a: String) { fraudCases(status: OPEN, after: $a) { edges { node { id } } } }"
    rest = gql(client, query, {"a": after})["fraudCases"]["edges"]
    assert [e["node"]["id"] for e in rest] == [released["transactionId"]]

    assign = "mutation($id: ID!) { assignFraudCase(id: $id) { status assignee } }"
    assigned = gql(client, assign, {"id": released["transactionId"]})["assignFraudCase"]
    assert assigned == {"status": "ASSIGNED", "assignee": "user:dev"}
    decide = """mutation($id: ID!, $v: FraudVerdict!, $n: String) {
      decideFraudCase(id: $id, verdict: $v, note: $n) { status verdict transactionStatus } }"""
    ok = gql(client, decide, {"id": released["transactionId"], "v": "FALSE_POSITIVE"})
    assert ok["decideFraudCase"] == {
        "status": "DECIDED",
        "verdict": "FALSE_POSITIVE",
        "transactionStatus": "POSTED",
    }
    errors = gql_errors(client, decide, {"id": rejected["transactionId"], "v": "CONFIRMED_FRAUD"})
    assert "note" in errors[0]["message"]
    bad = gql(
        client,
        decide,
        {
            "id": rejected["transactionId"],
            "v": "CONFIRMED_FRAUD",
            "n": "customer confirmed the scam",
        },
    )
    assert bad["decideFraudCase"]["transactionStatus"] == "REJECTED"
    again = gql_errors(client, decide, {"id": rejected["transactionId"], "v": "FALSE_POSITIVE"})
    assert "already decided" in again[0]["message"]
    project(container)

    assert account(client, debtor) == {"balance": {"amount": "4880.00"}, "held": {"amount": "0.00"}}
    decided = gql(client, "{ fraudCases(status: DECIDED) { edges { node { id verdict } } } }")
    verdicts = {e["node"]["id"]: e["node"]["verdict"] for e in decided["fraudCases"]["edges"]}
    assert verdicts == {
        released["transactionId"]: "FALSE_POSITIVE",
        rejected["transactionId"]: "CONFIRMED_FRAUD",
    }
    assert container.fraud_queries.labels() == {
        released["transactionId"]: 0,
        rejected["transactionId"]: 1,
    }
    trail = gql(
        client, "{ auditTrail(first: 200) { edges { node { eventType actor streamId payload } } } }"
    )["auditTrail"]["edges"]
    steps = [
        (e["node"]["eventType"], e["node"]["actor"])
        for e in trail
        if e["node"]["streamId"] == released["transactionId"]
        or e["node"]["payload"].get("transaction_id") == released["transactionId"]
    ]
    kinds = [kind for kind, _ in steps]
    for expected in (
        "Transaction.Received",
        "Transaction.Screened",
        "Transaction.Held",
        "FraudCase.Opened",
        "FraudCase.Assigned",
        "FraudCase.Decided",
        "Transaction.Posted",
    ):
        assert expected in kinds, (expected, kinds)
    assert ("FraudCase.Decided", "user:dev") in steps
    assert ("Transaction.Posted", "user:dev") in steps


def test_a_case_needs_a_payment_held_for_review(client, container, promoted):
    debtor = open_account(client)
    incoming = fund(client, debtor, "10.00")  # incoming: approved, not held
    errors = gql_errors(
        client, "mutation($id: ID!) { assignFraudCase(id: $id) { status } }", {"id": incoming}
    )
    assert "not held for review" in errors[0]["message"]
    assert gql(client, '{ fraudCase(id: "00000000-0000-0000-0000-000000000000") { id } }') == {
        "fraudCase": None
    }


def test_analyst_verdicts_label_the_next_training(client, container, promoted, database, capsys):
    env = {"LEDGER_DATA_DIR": str(database.data_dir)}
    if database.url:
        env.update(LEDGER_DATABASE_URL=database.url, LEDGER_DATABASE_SCHEMA=database.schema)
    debtor = open_account(client)
    fund(client, debtor, "5000.00")
    held = [pay(client, debtor=debtor, amount=f"{10 + i}.00")["transactionId"] for i in range(6)]
    assert main(["fraud", "train", "--from-store"], env) == 1  # no verdicts yet
    assert "both fraud and legitimate" in capsys.readouterr().err
    verdicts = (Verdict.CONFIRMED_FRAUD, Verdict.FALSE_POSITIVE)
    for tx_id, verdict in zip(held[:2], verdicts, strict=True):
        with caused_by(Causation("user:analyst", "corr-decide", "GRAPHQL")):
            container.fraud_cases.decide(UUID(tx_id), verdict, "checked")
    store = ArtifactStore(database.data_dir / "models")
    before = {m["version"] for m in store.metas()}
    assert main(["fraud", "train", "--from-store", "--rounds", "5"], env) == 0
    (new,) = [m for m in store.metas() if m["version"] not in before]
    assert new["data"]["rows"] == 7  # the funding payment and six held payments
    assert new["data"]["positives"] == 1
    assert new["version"] in container.fraud.registry().models


def test_simulated_payments_booked_through_the_ledger_are_screened_by_the_model(
    container, promoted, tmp_path
):
    """The real model, online features and ledger together: most fraud is stopped, most
    legitimate payments go through, and every held payment has an open case."""
    from adapters.fraud.simulator import simulate
    from api.seed.fraud_book import book

    simulate(6, tmp_path / "sim", customers=90, days=6)
    # Production thresholds, not the test's "review everything".
    container.ledger.screening.thresholds = ScoreThresholds()
    outcome = book(container, tmp_path / "sim")
    legit = outcome.pop("legit")
    assert legit["POSTED"] >= 0.95 * sum(legit.values())
    fraud = sum((counts for counts in outcome.values()), Counter())
    assert fraud["POSTED"] <= 0.4 * sum(fraud.values())
    project(container)
    held = legit["HELD"] + fraud["HELD"]
    page = container.fraud_queries.cases("OPEN", 200, None)
    assert held > 0 and len(page.edges) == held


def _held_payment(client, amount: str = "70.00") -> tuple[str, str]:
    debtor = open_account(client)
    fund(client, debtor, "1000.00")
    held = pay(client, debtor=debtor, creditor=iban("FR"), amount=amount)
    assert held["status"] == "HELD"
    return debtor, held["transactionId"]


def _rejections(container, tx_id: str) -> int:
    from application.fraud.features import ledger_feed

    return sum(
        1
        for _, e in ledger_feed(container.ledger)(0, 1_000_000)
        if type(e).__name__ == "Rejected" and str(e.originator_id) == tx_id
    )


def test_a_failing_ledger_action_leaves_the_case_undecided_and_it_can_be_decided_again(
    client, container, promoted, monkeypatch
):
    _, tx_id = _held_payment(client)
    cases = container.fraud_cases

    def down(*_args, **_kwargs):
        raise ConnectionError("database down")

    with monkeypatch.context() as patched:
        patched.setattr(container.ledger, "reject_held", down)
        with pytest.raises(ConnectionError):
            cases.decide(UUID(tx_id), Verdict.CONFIRMED_FRAUD, "scam")
    assert container.ledger.get_transaction(UUID(tx_id)).status == "HELD"
    project(container)
    assert container.fraud_queries.case(tx_id).status == "OPEN"
    case, result = cases.decide(UUID(tx_id), Verdict.CONFIRMED_FRAUD, "scam")
    assert (str(case.status), result.status) == ("DECIDED", "REJECTED")


def test_a_decision_whose_recording_fails_after_the_ledger_acted_is_recorded_on_retry(
    client, container, promoted, monkeypatch
):
    _, tx_id = _held_payment(client)
    cases = container.fraud_cases

    def down(*_args, **_kwargs):
        raise ConnectionError("fraud store down")

    with monkeypatch.context() as patched:
        patched.setattr(container.fraud, "save", down)
        with pytest.raises(ConnectionError):
            cases.decide(UUID(tx_id), Verdict.CONFIRMED_FRAUD, "scam")
    assert container.ledger.get_transaction(UUID(tx_id)).status == "REJECTED"
    case, result = cases.decide(UUID(tx_id), Verdict.CONFIRMED_FRAUD, "scam")
    assert (str(case.status), case.verdict, result.status) == (
        "DECIDED",
        "CONFIRMED_FRAUD",
        "REJECTED",
    )
    assert _rejections(container, tx_id) == 1  # the ledger did not act twice
    project(container)
    assert container.fraud_queries.case(tx_id).status == "DECIDED"


def test_reversing_a_posted_payment_by_a_decision_needs_the_reversal_permission(
    client, container, promoted
):
    from api.security import Principal
    from tests.e2e.conftest import client_as

    _, posted = _held_payment(client)
    container.ledger.release_held(UUID(posted))  # posted meanwhile
    _, held = _held_payment(client)
    decide = """mutation($id: ID!) { decideFraudCase(id: $id, verdict: CONFIRMED_FRAUD,
      note: "scam") { status transactionStatus } }"""
    analyst = client_as(container, Principal("user:ann", frozenset({"fraud_analyst"})))
    errors = gql_errors(analyst, decide, {"id": posted})
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert errors[0]["extensions"]["permission"] == "transactions:reverse"
    assert container.ledger.get_transaction(UUID(posted)).status == "POSTED"
    assert gql(analyst, decide, {"id": held})["decideFraudCase"] == {
        "status": "DECIDED",
        "transactionStatus": "REJECTED",
    }
    both = Principal("user:bob", frozenset({"fraud_analyst", "operator"}))
    reversed_ = gql(client_as(container, both), decide, {"id": posted})["decideFraudCase"]
    # at or below the approval threshold the decision reverses at once, and says so
    assert reversed_ == {"status": "DECIDED", "transactionStatus": "REVERSED"}
    assert container.ledger.get_transaction(UUID(posted)).status == "REVERSED"


def _reversals(container, tx_id: str) -> int:
    from application.fraud.features import ledger_feed

    return sum(
        1
        for _, e in ledger_feed(container.ledger)(0, 1_000_000)
        if type(e).__name__ == "Reversed" and str(e.originator_id) == tx_id
    )


def test_a_decision_above_the_reversal_threshold_does_not_reverse_without_a_second_person(
    client, container, promoted
):
    from api.security import Principal
    from application.ledger.changes import ReversalThresholds
    from tests.e2e.conftest import approve_as, client_as

    container.ledger_changes.thresholds = ReversalThresholds({"EUR": Decimal("50.00")})
    _, posted = _held_payment(client, "70.00")
    container.ledger.release_held(UUID(posted))  # posted meanwhile
    decide = """mutation($id: ID!) { decideFraudCase(id: $id, verdict: CONFIRMED_FRAUD,
      note: "scam") { status verdict transactionStatus } }"""
    bob = client_as(container, Principal("user:bob", frozenset({"fraud_analyst", "operator"})))
    errors = gql_errors(bob, decide, {"id": posted})
    assert errors[0]["extensions"]["code"] == "APPROVAL_REQUIRED"
    assert "above 50.00 EUR" in errors[0]["message"]
    assert "requestReversal" in errors[0]["message"]
    assert container.ledger.get_transaction(UUID(posted)).status == "POSTED"
    project(container)
    assert container.fraud_queries.case(posted).status == "OPEN"  # nothing recorded

    request = gql(
        bob,
        'mutation($id: ID!) { requestReversal(id: $id, reason: "confirmed fraud") { id status } }',
        {"id": posted},
    )["requestReversal"]
    assert request["status"] == "PENDING"
    assert container.ledger.get_transaction(UUID(posted)).status == "POSTED"
    # the analyst cannot approve their own request; a second person can
    own = gql_errors(
        bob,
        "mutation($id: ID!) { approveChangeRequest(id: $id) { status } }",
        {"id": request["id"]},
    )
    assert own[0]["extensions"]["code"] == "REFUSED"
    otto = Principal("user:otto", frozenset({"operator"}))
    assert approve_as(container, otto, request["id"])["status"] == "EXECUTED"
    assert container.ledger.get_transaction(UUID(posted)).status == "REVERSED"

    decided = gql(bob, decide, {"id": posted})["decideFraudCase"]
    assert decided == {
        "status": "DECIDED",
        "verdict": "CONFIRMED_FRAUD",
        "transactionStatus": "REVERSED",
    }
    assert _reversals(container, posted) == 1  # reversed once, by the approved request


def test_a_decision_in_a_currency_without_a_threshold_needs_a_second_person(
    client, container, promoted
):
    from api.security import Principal
    from application.ledger.changes import ReversalThresholds
    from tests.e2e.conftest import client_as

    container.ledger_changes.thresholds = ReversalThresholds({"USD": Decimal("10000")})
    _, posted = _held_payment(client, "1.00")
    container.ledger.release_held(UUID(posted))
    decide = """mutation($id: ID!) { decideFraudCase(id: $id, verdict: CONFIRMED_FRAUD,
      note: "scam") { status } }"""
    bob = client_as(container, Principal("user:bob", frozenset({"fraud_analyst", "operator"})))
    errors = gql_errors(bob, decide, {"id": posted})
    assert errors[0]["extensions"]["code"] == "APPROVAL_REQUIRED"
    assert "no approval threshold is configured for EUR" in errors[0]["message"]
    assert container.ledger.get_transaction(UUID(posted)).status == "POSTED"
