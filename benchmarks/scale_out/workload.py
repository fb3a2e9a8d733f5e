"""The two mixes of issue 14, as the JSON messages a channel sends, with what they must do.

* ``internal``: transfers between random pairs of funded customer accounts;
* ``mixed``: 60 % incoming from external IBANs (the debit leg on ``clearing:EUR``), 20 %
  outgoing to external IBANs (the credit leg on ``clearing:EUR``), 20 % internal.

Each workload knows the transaction id every message must book (``uuid5`` of channel and
external id, as the ledger derives it) and the net change it makes to every account, so the
checks can say "booked exactly once" and "every balance is what was sent" without trusting
the code under test.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from schwifty import IBAN

from domain.iban import Iban
from domain.ledger.transactions import Transaction

MIXES = ("internal", "mixed")
CHANNEL = "BENCH"
CURRENCY = "EUR"
CLEARING = f"clearing:{CURRENCY}"
FUNDING = Decimal("1000000.00")
"""Each customer account's opening credit (an incoming payment from outside)."""
EXTERNAL_POOL = 200
"""Distinct external IBANs (other banks' customers) the mixed workload pays to and from."""


def external_ibans(count: int = EXTERNAL_POOL) -> list[str]:
    """Valid Dutch IBANs of another bank: never opened here, so routed via clearing."""
    return [
        str(IBAN.generate("NL", bank_code="ABNA", account_code=f"{i:010d}"))
        for i in range(1, count + 1)
    ]


@dataclass
class Workload:
    """The messages of one run and what booking them must leave behind."""

    mix: str
    bodies: list[bytes] = field(default_factory=list)
    transaction_ids: set[UUID] = field(default_factory=set)
    net: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    """Net change per account key (customer IBAN or ``clearing:EUR``), funding excluded."""
    kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, external_id: str, debtor: str, creditor: str, amount: Decimal, kind: str) -> None:
        self.bodies.append(
            json.dumps(
                {
                    "externalId": external_id,
                    "channel": CHANNEL,
                    "debtor": {"iban": debtor, "name": "Debtor"},
                    "creditor": {"iban": creditor, "name": "Creditor"},
                    "amount": format(amount, "f"),
                    "currency": CURRENCY,
                    "reference": f"scale-out {kind}",
                }
            ).encode()
        )
        self.transaction_ids.add(Transaction.create_id(CHANNEL, external_id))
        self.kinds[kind] += 1
        self.net[CLEARING if kind == "incoming" else debtor] -= amount
        self.net[CLEARING if kind == "outgoing" else creditor] += amount


def build(mix: str, customers: list[Iban], count: int, prefix: str, seed: int = 14) -> Workload:
    """``count`` payments of ``mix`` between ``customers`` (and external IBANs for mixed),
    amounts of 1.00 to 200.00 in cents; keys ``prefix-n``."""
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r}; known: {', '.join(MIXES)}")
    rng = random.Random(f"{seed}-{mix}")
    ours = [iban.value for iban in customers]
    theirs = external_ibans()
    workload = Workload(mix)
    for n in range(count):
        cents = rng.randint(100, 20_000)
        amount = Decimal(cents).scaleb(-2)
        roll = rng.random() if mix == "mixed" else 1.0
        if roll < 0.6:
            workload.add(f"{prefix}-{n}", rng.choice(theirs), rng.choice(ours), amount, "incoming")
        elif roll < 0.8:
            workload.add(f"{prefix}-{n}", rng.choice(ours), rng.choice(theirs), amount, "outgoing")
        else:
            debtor, creditor = rng.sample(ours, 2)
            workload.add(f"{prefix}-{n}", debtor, creditor, amount, "internal")
    return workload


def expected_balances(customers: list[Iban], workload: Workload) -> dict[str, Decimal]:
    """Every account's balance once the funding and the workload are booked: the funding
    credits each customer and debits clearing by as much."""
    balances: dict[str, Decimal] = {iban.value: FUNDING for iban in customers}
    balances[CLEARING] = -FUNDING * len(customers)
    for key, change in workload.net.items():
        balances[key] = balances.get(key, Decimal(0)) + change
    return balances
