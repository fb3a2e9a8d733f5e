"""The demo's deterministic randomness: IBANs, amounts, external ids, request times and
customers, all from one seeded generator (the same seed gives the same data)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from schwifty import IBAN as SchwiftyIban

from api.seed.demo.catalogue import COUNTRIES, FIRST_NAMES, HOME, LAST_NAMES, SCALE


@dataclass
class Customer:
    iban: str
    name: str
    country: str
    currency: str
    overdraft: Decimal


@dataclass
class Party:
    iban: str
    name: str


class Generator:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.used: set[str] = set()
        self.serial = 0
        self.today = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)

    def iban(self, country: str) -> str:
        while True:
            value = str(SchwiftyIban.random(country_code=country, random=self.rng).compact)
            if value not in self.used:
                self.used.add(value)
                return value

    def external(self, currency: str, name: str) -> Party:
        return Party(self.iban(self.rng.choice(HOME[currency])), name)

    def amount(self, low: float, high: float, currency: str) -> str:
        raw = Decimal(str(round(self.rng.uniform(low, high), 2))) * SCALE[currency]
        return str(raw.quantize(Decimal("0.01")))

    def external_id(self, kind: str) -> str:
        self.serial += 1
        return f"DEMO{self.seed}-{kind}-{self.serial:06d}"

    def requested_at(self, days_back: int) -> str:
        moment = self.today - timedelta(
            days=self.rng.randint(0, days_back), minutes=self.rng.randint(0, 600)
        )
        return moment.isoformat().replace("+00:00", "Z")


def payment_message(
    gen: Generator,
    kind: str,
    channel: str,
    debtor: Party | Customer,
    creditor: Party | Customer,
    amount: str,
    currency: str,
    reference: str,
    days_back: int = 30,
) -> dict[str, Any]:
    return {
        "externalId": gen.external_id(kind),
        "channel": channel,
        "debtor": {"iban": debtor.iban, "name": debtor.name},
        "creditor": {"iban": creditor.iban, "name": creditor.name},
        "amount": amount,
        "currency": currency,
        "reference": reference,
        "requestedAt": gen.requested_at(days_back),
        "metadata": {"source": "demo", "kind": kind},
    }


def make_customers(gen: Generator, count: int) -> list[Customer]:
    countries = [c for c, _, _ in COUNTRIES]
    weights = [w for _, _, w in COUNTRIES]
    currency_of = {c: ccy for c, ccy, _ in COUNTRIES}
    # Two customers in each currency first, so every currency has internal transfers.
    chosen = ["DE", "FR", "PL", "PL", "SE", "SE"][: max(0, count)]
    chosen += gen.rng.choices(countries, weights, k=max(0, count - len(chosen)))
    result = []
    for country in chosen:
        currency = currency_of[country]
        name = f"{gen.rng.choice(FIRST_NAMES[country])} {gen.rng.choice(LAST_NAMES[country])}"
        overdraft = Decimal(gen.rng.choice([0, 0, 0, 500, 1000, 2000])) * SCALE[currency]
        result.append(
            Customer(gen.iban(country), name, country, currency, overdraft.quantize(Decimal(1)))
        )
    return result
