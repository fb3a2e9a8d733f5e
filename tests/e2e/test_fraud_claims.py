"""Customer fraud claims, scam reports and chargebacks: a channel files one over REST on a
payment posted long ago, a retry is answered as recorded, a wrong field is named, a caller
without ``fraud:claim`` is refused; analysts record and list claims over GraphQL; every claim
is an event of the audit trail."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.fraud.artifacts import ArtifactStore
from api.cli.main import main
from api.runtime.bootstrap import Container
from api.security import Principal
from domain.causation import Causation, caused_by
from domain.fraud.claims import ClaimFacts, ClaimLabel
from tests.e2e.conftest import client_as, fund, gql, gql_errors, open_account, pay, project

MOBILE = Principal("service:mobile-app", frozenset({"channel"}), "service", frozenset({"MOBILE"}))
BANKING = Principal(
    "service:banking", frozenset({"channel"}), "service", frozenset({"MOBILE", "SEPA"})
)
ANALYST = Principal("user:anna", frozenset({"fraud_analyst"}))
VIEWER = Principal("user:vic", frozenset({"viewer"}))


@pytest.fixture
def payments(client: TestClient, container: Container) -> dict[str, str]:
    """A posted outgoing MOBILE payment, the incoming funding, and another channel's payment."""
    account = open_account(client)
    incoming = fund(client, account, "500.00")
    posted = pay(client, debtor=account, amount="25.00")
    assert posted["status"] == "POSTED", posted
    web = pay(client, debtor=account, amount="12.00", channel="WEB")
    project(container)
    return {"posted": posted["transactionId"], "incoming": incoming, "web": web["transactionId"]}


def claim(tx_id: str, reference: str = "CLM-1", **overrides: Any) -> dict[str, Any]:
    body = {
        "transactionId": tx_id,
        "kind": "SCAM_REPORT",
        "channel": "MOBILE",
        "claimReference": reference,
        "reportedAt": "2026-12-01T09:30:00Z",
        "statement": "Paid an 'investment platform' after a call.",
        "typology": "investment_scam",
    }
    body.update(overrides)
    return body


def test_a_channel_files_a_claim_on_a_posted_payment_once(container, payments):
    with client_as(container, MOBILE) as mobile:
        first = mobile.post("/v1/fraud/claims", json=claim(payments["posted"]))
        assert first.status_code == 201, first.text
        filed = first.json()
        assert filed["status"] == "FILED"
        assert filed["transactionId"] == payments["posted"]
        again = mobile.post("/v1/fraud/claims", json=claim(payments["posted"]))
        assert again.status_code == 200, again.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["claimId"] == filed["claimId"]
        reused = mobile.post("/v1/fraud/claims", json=claim(payments["posted"], kind="CHARGEBACK"))
        assert reused.status_code == 409, reused.text
        assert "claimReference" in reused.json()["detail"]
        project(container)
        read = mobile.get(f"/v1/fraud/claims/{filed['claimId']}")
        assert read.status_code == 200, read.text
        assert read.json()["kind"] == "SCAM_REPORT"
        withdrawn = mobile.post(f"/v1/fraud/claims/{filed['claimId']}/withdrawal", json={})
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["status"] == "WITHDRAWN"
        twice = mobile.post(f"/v1/fraud/claims/{filed['claimId']}/withdrawal", json={})
        assert twice.status_code == 409, twice.text
    # the payment itself is untouched: a claim is a label, not a reversal
    view = container.queries.transaction(payments["posted"])
    assert view is not None and view.status == "POSTED"
    project(container)
    rows = container.fraud_queries.claims.claims(None, payments["posted"], 10, None)
    assert [(v.status, v.reported_by) for _, v in rows.edges] == [
        ("WITHDRAWN", "service:mobile-app")
    ]


@pytest.mark.parametrize(
    ("which", "overrides", "field"),
    [
        ("unknown", {}, "transactionId: no transaction"),
        ("incoming", {}, "transactionId: transaction"),  # ... is not an outgoing payment of ours
        ("web", {}, "transactionId"),  # another channel's payment: as unknown
        ("posted", {"kind": "REFUND"}, "kind"),
        ("posted", {"claimReference": "bad reference!"}, "claimReference"),
        ("posted", {"statement": "x" * 2001}, "statement"),
        ("posted", {"typology": "Not A Typology"}, "typology"),
        ("posted", {"transactionId": "not-a-uuid"}, "transactionId"),
        ("posted", {"reportedAt": "2026-12-01T09:30:00"}, "reportedAt"),
    ],
)
def test_a_wrong_field_is_named(container, payments, which, overrides, field):
    tx_id = payments.get(which, "00000000-0000-0000-0000-000000000000")
    with client_as(container, BANKING) as channel:
        response = channel.post("/v1/fraud/claims", json=claim(tx_id, **overrides))
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"], response.text


def test_filing_needs_fraud_claim_and_the_callers_own_channel(container, payments):
    with client_as(container, VIEWER) as viewer:
        refused = viewer.post("/v1/fraud/claims", json=claim(payments["posted"]))
    assert refused.status_code == 403, refused.text
    assert "fraud:claim" in refused.json()["detail"]
    with client_as(container, MOBILE) as mobile:
        other = mobile.post("/v1/fraud/claims", json=claim(payments["posted"], channel="WEB"))
    assert other.status_code == 403, other.text
    project(container)
    assert container.fraud_queries.claims.labels() == []


REPORT = """
mutation($tx: ID!, $ref: String!, $kind: FraudClaimKind!) {
  reportFraudClaim(transactionId: $tx, kind: $kind, reference: $ref,
                   statement: "called the bank", reportedAt: "2026-12-02T10:00:00Z") {
    id status kind channel reportedBy transactionId
  }
}
"""


def test_analysts_record_list_and_resolve_claims_over_graphql(container, payments):
    with client_as(container, ANALYST) as analyst:
        variables = {"tx": payments["posted"], "ref": "PHONE-7", "kind": "CLAIM"}
        filed = gql(analyst, REPORT, variables)["reportFraudClaim"]
        assert filed["status"] == "FILED"
        assert filed["channel"] == "BACKOFFICE"
        assert gql(analyst, REPORT, variables)["reportFraudClaim"]["id"] == filed["id"]
        incoming = {**variables, "tx": payments["incoming"], "ref": "P-8"}
        errors = gql_errors(analyst, REPORT, incoming)
        assert "transactionId" in errors[0]["message"]
        assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
        project(container)
        listed = gql(
            analyst,
            "{ fraudClaims(first: 5) { edges { node { id status reportedBy amount { amount } } }"
            " pageInfo { hasNextPage } } }",
        )["fraudClaims"]
        assert [e["node"] for e in listed["edges"]] == [
            {"id": filed["id"], "status": "FILED", "reportedBy": "user:anna",
             "amount": {"amount": "25.00"}}
        ]  # fmt: skip
        resolved = gql(
            analyst,
            'mutation($id: ID!) { resolveFraudClaim(id: $id, resolution: REJECTED, note: "ok") '
            "{ status resolution } }",
            {"id": filed["id"]},
        )["resolveFraudClaim"]
        assert resolved == {"status": "RESOLVED", "resolution": "REJECTED"}
    with client_as(container, VIEWER) as viewer:
        refused = gql_errors(viewer, REPORT, variables)
        assert refused[0]["extensions"]["permission"] == "fraud:claim"
    project(container)
    trail = gql(
        analyst_client := client_as(container, Principal("user:aud", frozenset({"auditor"}))),
        "{ auditTrail(first: 100) { edges { node { eventType actor } } } }",
    )["auditTrail"]["edges"]
    analyst_client.close()
    kinds = [(e["node"]["eventType"], e["node"]["actor"]) for e in trail]
    assert ("FraudClaim.Filed", "user:anna") in kinds
    assert ("FraudClaim.Resolved", "user:anna") in kinds


def test_claims_label_the_next_training_and_unreviewed_payments_are_counted(
    client, container, clock, env, capsys
):
    """A standing claim is fraud, a withdrawn one is not; the payments nobody labelled are
    counted and treated as the option says; the validation is the last period."""
    account = open_account(client)
    fund(client, account, "5000.00")
    paid = []
    for i in range(8):
        clock.advance(3600)
        paid.append(pay(client, debtor=account, amount=f"{20 + i}.00")["transactionId"])
    assert main(["fraud", "train", "--from-store"], env) == 1  # no labels: one class only
    assert "both fraud and legitimate" in capsys.readouterr().err
    claims = container.fraud_claims
    with caused_by(Causation("service:mobile-app", "corr-claim", "REST")):
        kinds = ("CHARGEBACK", "SCAM_REPORT", "CLAIM")
        for n, (tx_id, kind) in enumerate(zip(paid[:3], kinds, strict=True)):
            facts = ClaimFacts.of(
                transaction_id=tx_id,
                kind=kind,
                channel="MOBILE",
                reference=f"C-{n}",
                reported_at=clock(),
                statement="",
            )
            filed = claims.file(facts)
        claims.withdraw(filed.claim.id, "found the card in a drawer")
    store = ArtifactStore(Path(env["LEDGER_DATA_DIR"]) / "models")

    assert main(["fraud", "train", "--from-store", "--rounds", "5"], env) == 0
    out = capsys.readouterr().out
    assert "6 unreviewed, treated as legitimate" in out, out
    (meta,) = store.metas()
    assert meta["data"]["rows"] == 9  # the funding payment and eight payments
    assert meta["data"]["positives"] == 2
    assert meta["data"]["labels"]["rows_by_label_source"] == {
        "claim": 2,
        "claim_withdrawn": 1,
        "unreviewed": 6,
    }
    split = meta["split"]
    assert (split["train_rows"], split["validation_rows"]) == (7, 2)
    # the validation is the last period: the last two payments by recording time
    views = [container.queries.transaction(tx_id) for tx_id in paid[-2:]]
    assert split["validation_from"] == min(v.received_at for v in views if v).isoformat()

    assert (
        main(["fraud", "train", "--from-store", "--unreviewed", "drop", "--rounds", "5"], env) == 0
    )
    assert "6 unreviewed, treated as dropped" in capsys.readouterr().out
    dropped = [m for m in store.metas() if m["version"] != meta["version"]]
    assert [(m["data"]["rows"], m["data"]["positives"]) for m in dropped] == [(3, 2)]


def test_concurrent_retries_of_one_claim_record_it_once(container, payments):
    """A channel's retries racing each other: one files, the others meet the recorded claim."""
    facts = ClaimFacts.of(
        transaction_id=payments["posted"],
        kind="CHARGEBACK",
        channel="MOBILE",
        reference="CB-RACE",
        reported_at=datetime(2026, 12, 3, tzinfo=UTC),
        statement="",
    )
    start = threading.Barrier(4)

    def file() -> bool:
        start.wait(timeout=10)
        with caused_by(Causation("service:mobile-app", "corr-race", "REST")):
            return container.fraud_claims.file(facts).duplicate

    with ThreadPoolExecutor(4) as pool:
        duplicates = sorted(pool.map(lambda _: file(), range(4)))
    assert duplicates == [False, True, True, True]
    project(container)
    assert container.fraud_queries.claims.labels() == [ClaimLabel(payments["posted"], True)]
