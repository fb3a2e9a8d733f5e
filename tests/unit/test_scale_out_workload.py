"""The scale-out benchmark's mixes (benchmarks/scale_out/workload.py): what the end-of-run
checks compare the ledger against, so it must be right on its own."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from benchmarks.scale_out.workload import CLEARING, FUNDING, build, expected_balances
from benchmarks.workload import customer_ibans
from domain.ledger.transactions import Transaction

CUSTOMERS = customer_ibans(30)


def test_the_mixed_mix_is_60_incoming_20_outgoing_20_internal() -> None:
    workload = build("mixed", CUSTOMERS, 5_000, "M")
    assert workload.kinds["incoming"] == pytest.approx(3_000, rel=0.05)
    assert workload.kinds["outgoing"] == pytest.approx(1_000, rel=0.1)
    assert workload.kinds["internal"] == pytest.approx(1_000, rel=0.1)


def test_the_internal_mix_moves_money_between_customers_only() -> None:
    workload = build("internal", CUSTOMERS, 500, "I")
    assert dict(workload.kinds) == {"internal": 500}
    assert CLEARING not in workload.net
    ours = {iban.value for iban in CUSTOMERS}
    for body in workload.bodies:
        message = json.loads(body)
        assert {message["debtor"]["iban"], message["creditor"]["iban"]} <= ours
        assert message["debtor"]["iban"] != message["creditor"]["iban"]


@pytest.mark.parametrize("mix", ["internal", "mixed"])
def test_expected_balances_sum_to_zero_and_follow_every_message(mix: str) -> None:
    workload = build(mix, CUSTOMERS, 2_000, "S")
    balances = expected_balances(CUSTOMERS, workload)
    assert sum(balances.values(), Decimal(0)) == 0
    moved: dict[str, Decimal] = {}
    for body in workload.bodies:
        message = json.loads(body)
        amount = Decimal(message["amount"])
        assert Decimal("1.00") <= amount <= Decimal("200.00")
        debtor, creditor = message["debtor"]["iban"], message["creditor"]["iban"]
        debtor = debtor if debtor in balances else CLEARING
        creditor = creditor if creditor in balances else CLEARING
        moved[debtor] = moved.get(debtor, Decimal(0)) - amount
        moved[creditor] = moved.get(creditor, Decimal(0)) + amount
    for iban in CUSTOMERS:
        assert balances[iban.value] == FUNDING + moved.get(iban.value, Decimal(0))


def test_every_message_has_its_own_transaction_id() -> None:
    workload = build("mixed", CUSTOMERS, 1_000, "T")
    keys = [json.loads(body)["externalId"] for body in workload.bodies]
    assert len(set(keys)) == 1_000
    assert workload.transaction_ids == {Transaction.create_id("BENCH", key) for key in keys}
