"""The demo's deterministic randomness: IBANs, amounts, external ids, request times and
customers, all from one seeded generator (the same seed gives the same data)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from schwifty import IBAN as SchwiftyIban

from api.seed.demo.catalogue import (
    COUNTRIES,
    FIRST_NAMES,
    HOME,
    LAST_NAMES,
    LEGAL_FORMS,
    SCALE,
    TRADES,
)


@dataclass
class Customer:
    iban: str
    name: str
    country: str
    currency: str
    overdraft: Decimal
    holder_type: str = "NATURAL"
    further_names: tuple[str, ...] = ()
    identifiers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


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
    result: list[Customer] = []
    for country in chosen:
        currency = currency_of[country]
        name = f"{gen.rng.choice(FIRST_NAMES[country])} {gen.rng.choice(LAST_NAMES[country])}"
        overdraft = Decimal(gen.rng.choice([0, 0, 0, 500, 1000, 2000])) * SCALE[currency]
        customer = Customer(
            gen.iban(country), name, country, currency, overdraft.quantize(Decimal(1))
        )
        result.append(with_holder_details(customer, len(result)))
    return result


def lei_for(serial: int) -> str:
    """A valid (ISO 17442 check digits) but made-up LEI: prefix 9845 (unassigned)."""
    base = f"9845{serial:014d}"
    digits = "".join(str(int(ch, 36)) for ch in base + "00")
    return f"{base}{98 - int(digits) % 97:02d}"


def with_holder_details(customer: Customer, index: int) -> Customer:
    """Holder details for Verification of Payee, by position (no draw from the generator, so
    the rest of the demo stays as it was): every 10th customer from the 8th a company with
    an LEI, a VAT number and a registration; every 4th from the 2nd a joint account; every
    6th from the 5th a sole trader with a trading name."""
    first, _, last = customer.name.partition(" ")  # first names are one word
    country = customer.country
    if index % 10 == 7:
        form = LEGAL_FORMS.get(country, "Ltd")
        customer.name = f"{last} {TRADES[index % len(TRADES)]} {form}"
        customer.holder_type = "LEGAL"
        customer.further_names = (f"{last} {TRADES[index % len(TRADES)]}",)
        customer.identifiers = (
            ("LEI", lei_for(index)),
            ("VAT", f"{country}{100_000_000 + index * 7919:09d}"),
            ("NATIONAL", f"REG {200_000 + index}"),
        )
    elif index % 4 == 1:
        firsts = [name for name in FIRST_NAMES[country] if name != first]
        partner = firsts[index % len(firsts)]
        customer.further_names = (f"{partner} {last}",)
    elif index % 6 == 4:
        customer.further_names = (f"{last} {TRADES[index % len(TRADES)]}",)
    return customer
