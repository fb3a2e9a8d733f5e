"""The simulator: population, legitimate stream and fraud, deterministic per seed and profile.

Output in ``DIR``: ``payments.jsonl`` (one object per payment: the ingestion ``message``,
``label``, ``typology``, ``rejected``, ``direction`` and ``kind``), ``customers.csv``
(``ledger accounts import`` format, and ``opened_at``: when the account was
opened) and ``summary.json``. ``direction`` is ``outgoing`` when
the debtor is a customer of the bank (the payments screening acts on) and ``incoming`` for a
credit from another bank (creditor ours, debtor external: a salary, a buyer, a mule's
victim elsewhere); evaluation scores outgoing payments only, while the features see both.
``payeeCheck`` is the Verification of Payee outcome the payer saw (absent: no check).
``kind`` says what a legitimate payment is (``everyday``, ``standing_order``, ``payroll``,
``bulk``, ``salary``, ``car``, ``micro_burst``, ...); fraud has kind ``fraud``.
"""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from adapters.fraud.simulation.legit import Legit
from adapters.fraud.simulation.population import Customer, Population, Row
from adapters.fraud.simulation.profiles import DEFAULT, Profile
from adapters.fraud.simulation.typologies import Fraud

# A generous overdraft, so that `ledger fraud book` can book the whole stream without funding.
OVERDRAFT = "100000.00"


class Simulator:
    """Builds the population, then the payment stream, deterministically from ``seed``."""

    def __init__(
        self, seed: int, customers: int = 600, days: int = 28, profile: Profile = DEFAULT
    ) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.days = days
        self.profile = profile
        self.population = Population(self.rng, seed, profile)
        self.customers = [self.population.customer() for _ in range(customers)]
        pop = self.population
        self.merchants = [pop.iban(pop.country(0.15)) for _ in range(max(40, customers // 3))]
        # Popular merchants receive a large share of payments (legitimate fan-in).
        popularity = [1.0 / (rank + 1) ** 0.8 for rank in range(len(self.merchants))]
        for customer in self.customers:
            pop.equip(customer, self.merchants, popularity, self.customers)
        self.rows: list[Row] = []

    def run(self, fraud_cases: int | None = None) -> list[Row]:
        legit = Legit(self.population, self.days, self.rows.append)
        for customer in list(self.customers):
            legit.customer(customer)
        fraud = Fraud(self.population, self.customers, self.days, self.rows.append)
        typologies = fraud.typologies()
        weights = self.profile.typologies
        per = self.profile.fraud_cases_per
        cases = fraud_cases if fraud_cases is not None else max(3, len(self.customers) // per)
        for _ in range(cases):
            for name, make in typologies.items():
                weight = weights.get(name, 0.0)
                for _ in range(int(weight) + (self.rng.random() < weight % 1)):
                    make()
        end = self.profile.start + timedelta(days=self.days)
        self.rows = [row for row in self.rows if self.profile.start <= row.at < end]
        self.rows.sort(key=lambda row: row.at)
        return self.rows


def to_record(row: Row, index: int, seed: int) -> dict[str, Any]:
    debtor = row.debtor
    ours = isinstance(debtor, Customer)
    debtor_iban = debtor.iban if isinstance(debtor, Customer) else debtor
    debtor_name = debtor.name if isinstance(debtor, Customer) else "External"
    metadata = {"deviceId": row.device, "ip": row.ip} if row.device or row.ip else {}
    return {
        "message": {
            "externalId": f"SIM-{seed}-{index:07d}",
            "channel": "SIMULATOR",
            "debtor": {"iban": debtor_iban, "name": debtor_name},
            "creditor": {"iban": row.creditor, "name": row.creditor_name},
            "amount": str(row.amount),
            "currency": "EUR",
            "reference": "simulated",
            "requestedAt": row.at.isoformat().replace("+00:00", "Z"),
            "metadata": metadata,
        },
        "label": row.label,
        "typology": row.typology,
        "rejected": row.rejected,
        "direction": "outgoing" if ours else "incoming",
        "kind": "fraud" if row.label else row.kind,
        **({"payeeCheck": row.payee_check} if row.payee_check else {}),
    }


def simulate(
    seed: int, out: Path, customers: int = 600, days: int = 28, profile: Profile = DEFAULT
) -> dict[str, Any]:
    """Write the simulated data set for ``seed`` and ``profile`` into ``out``; returns the
    summary."""
    simulator = Simulator(seed, customers=customers, days=days, profile=profile)
    rows = simulator.run()
    out.mkdir(parents=True, exist_ok=True)
    records = [to_record(row, index, seed) for index, row in enumerate(rows)]
    with (out / "payments.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    with (out / "customers.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["iban", "holder_name", "currency", "overdraft_limit", "opened_at"])
        for customer in simulator.customers:
            opened = (
                customer.opened_at.isoformat().replace("+00:00", "Z") if customer.opened_at else ""
            )
            writer.writerow([customer.iban, customer.name, "EUR", OVERDRAFT, opened])
    summary = {
        "seed": seed,
        "profile": profile.name,
        "customers": len(simulator.customers),
        "segments": dict(sorted(Counter(c.segment for c in simulator.customers).items())),
        "payments": len(rows),
        "outgoing": sum(1 for r in records if r["direction"] == "outgoing"),
        "incoming": sum(1 for r in records if r["direction"] == "incoming"),
        "fraudulent": sum(row.label for row in rows),
        "typologies": dict(sorted(Counter(row.typology for row in rows).items())),
        "kinds": dict(sorted(Counter(r["kind"] for r in records).items())),
        "from": rows[0].at.isoformat() if rows else None,
        "to": rows[-1].at.isoformat() if rows else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
