"""``ledger fraud simulate``: realistic labelled payments with five fraud typologies.

Customers of the bank (accounts in seven countries) pay their regular payees —
merchants, utilities, landlords, friends and other customers — at their own
rhythm (payments per day, usual hours, a personal amount profile, one or two
devices), now and then a new payee, a new phone, a late-night payment or a
large legitimate payment. Into that stream the simulator injects labelled
fraud (``label`` 1, ``typology`` names it):

``account_takeover``
    a fraudster with a new device and IP, mostly at night, sends one to four
    large payments to new payees (often abroad) within half an hour.
``app_scam``
    authorised push payment: the customer, on their own device at a normal
    hour, is talked into paying a new payee one to three large, often round
    amounts over a day or two.
``mule``
    a mule account (a young account) receives payments from many customers it
    never dealt with (fan-in) and within hours sends the money abroad to new
    payees (fan-out); both sides are labelled.
``card_testing``
    a burst of ten to forty tiny payments (0.50-5.00) to one to three new
    merchants within minutes, part of them rejected.
``structuring``
    three to six payments just below the 10,000 reporting threshold within one
    to three days, to several payees.

Everything is determined by ``seed``. Output in ``DIR``: ``payments.jsonl``
(one object per payment: the ingestion ``message``, ``label``, ``typology``,
``rejected``), ``customers.csv`` (``ledger accounts import`` format) and
``summary.json``.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from schwifty import IBAN as SchwiftyIban

HOME_COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "AT", "BE")
FOREIGN_COUNTRIES = ("GB", "LT", "PL", "RO", "PT", "IE")
START = datetime(2026, 9, 1, tzinfo=UTC)
CENT = Decimal("0.01")
# A generous overdraft, so that `ledger fraud book` can book the whole stream without funding.
OVERDRAFT = "100000.00"

FIRST = [
    "Max",
    "Anna",
    "Lukas",
    "Marie",
    "Louis",
    "Camille",
    "Daan",
    "Emma",
    "Lucía",
    "Hugo",
    "Giulia",
    "Lorenzo",
    "Paul",
    "Laura",
    "Noah",
    "Olivia",
    "Jonas",
    "Sofia",
    "Elias",
    "Lea",
]
LAST = [
    "Müller",
    "Schmidt",
    "Martin",
    "Dupont",
    "de Jong",
    "Jansen",
    "García",
    "López",
    "Rossi",
    "Bianchi",
    "Gruber",
    "Huber",
    "Peeters",
    "Maes",
    "Weber",
    "Moreau",
]
MERCHANTS = [
    "Supermarket",
    "Telecom",
    "Energy",
    "Insurance",
    "Books",
    "Pharmacy",
    "Travel",
    "Electronics",
    "Fashion",
    "Streaming",
    "Fitness",
    "Bakery",
    "Garage",
    "Hotel",
]


@dataclass
class Customer:
    iban: str
    name: str
    country: str
    devices: list[str]
    ip: str
    rate: float  # payments per day
    median: float  # typical amount
    hours: tuple[int, int]  # active hours (UTC), inclusive start, exclusive end
    payees: list[str] = field(default_factory=list)


@dataclass
class Row:
    at: datetime
    debtor: Customer | str
    creditor: str
    amount: Decimal
    device: str
    ip: str
    label: int = 0
    typology: str = "legit"
    rejected: bool = False


class Simulator:
    """Builds the population, then the payment stream, deterministically from ``seed``."""

    def __init__(self, seed: int, customers: int = 600, days: int = 28) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.days = days
        self.used: set[str] = set()
        self.serial = 0
        self.customers = [self._customer() for _ in range(customers)]
        self.merchants = [self._iban(self._country(0.15)) for _ in range(max(40, customers // 3))]
        # Popular merchants receive a large share of payments (legitimate fan-in).
        self.popularity = [1.0 / (rank + 1) ** 0.8 for rank in range(len(self.merchants))]
        for customer in self.customers:
            k = self.rng.randint(3, 10)
            regular = self.rng.choices(self.merchants, weights=self.popularity, k=k)
            friends = [self.rng.choice(self.customers).iban for _ in range(self.rng.randint(0, 2))]
            customer.payees = list(
                dict.fromkeys(regular + friends + [self._iban(customer.country)])
            )
        self.rows: list[Row] = []

    # -- population ------------------------------------------------------------------

    def _country(self, foreign_share: float) -> str:
        if self.rng.random() < foreign_share:
            return self.rng.choice(FOREIGN_COUNTRIES)
        return self.rng.choice(HOME_COUNTRIES)

    def _iban(self, country: str) -> str:
        while True:
            value = str(SchwiftyIban.random(country_code=country, random=self.rng).compact)
            if value not in self.used:
                self.used.add(value)
                return value

    def _device(self) -> str:
        self.serial += 1
        return f"dev-{self.seed}-{self.serial:06d}"

    def _ip(self) -> str:
        r = self.rng
        return f"{r.randint(2, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def _customer(self) -> Customer:
        r = self.rng
        country = r.choice(HOME_COUNTRIES)
        start = r.choice((6, 7, 8, 9, 10))
        return Customer(
            iban=self._iban(country),
            name=f"{r.choice(FIRST)} {r.choice(LAST)}",
            country=country,
            devices=[self._device() for _ in range(r.choice((1, 1, 2)))],
            ip=self._ip(),
            rate=r.lognormvariate(math.log(1.6), 0.5),
            median=r.lognormvariate(math.log(60), 0.7),
            hours=(start, min(24, start + r.randint(11, 15))),
        )

    # -- legitimate behaviour --------------------------------------------------------

    def _legit(self, customer: Customer) -> None:
        r = self.rng
        t = START + timedelta(hours=r.uniform(0, 24))
        end = START + timedelta(days=self.days)
        while True:
            t += timedelta(days=r.expovariate(customer.rate))
            if t >= end:
                return
            at = t.replace(hour=r.randrange(*customer.hours), minute=r.randrange(60))
            if r.random() < 0.03:  # an occasional late-night payment
                at = at.replace(hour=r.randrange(0, 6))
            amount = r.lognormvariate(math.log(customer.median), 0.8)
            payee = r.choice(customer.payees)
            roll = r.random()
            if roll < 0.05:  # a new payee; sometimes abroad
                payee = self._iban(self._country(0.2))
                customer.payees.append(payee)
            elif roll < 0.08:  # a large legitimate payment: rent, a car repair, a holiday
                amount = r.uniform(800, 6000)
                if r.random() < 0.6:
                    amount = round(amount, -2)
            elif roll < 0.10:  # a round transfer
                amount = float(r.choice((50, 100, 200, 500, 1000)))
            if r.random() < 0.01:  # a new phone, kept from now on
                customer.devices.append(self._device())
            device = customer.devices[-1] if r.random() < 0.8 else r.choice(customer.devices)
            ip = customer.ip if r.random() < 0.9 else self._ip()
            self._add(
                Row(at, customer, payee, _money(amount), device, ip, rejected=r.random() < 0.004)
            )

    # -- fraud -----------------------------------------------------------------------

    def _when(self, night: bool = False) -> datetime:
        r = self.rng
        day = START + timedelta(days=r.uniform(1, self.days - 3))
        hour = r.randrange(0, 6) if night else r.randrange(8, 21)
        return day.replace(hour=hour, minute=r.randrange(60), second=r.randrange(60))

    def account_takeover(self) -> None:
        r = self.rng
        victim = r.choice(self.customers)
        at = self._when(night=r.random() < 0.7)
        device, ip = self._device(), self._ip()
        payees = [self._iban(self._country(0.7)) for _ in range(r.randint(1, 2))]
        for _ in range(r.randint(1, 4)):
            amount = r.uniform(1500, 15000) if r.random() < 0.8 else r.uniform(300, 1500)
            self._add(
                Row(at, victim, r.choice(payees), _money(amount), device, ip, 1, "account_takeover")
            )
            at += timedelta(minutes=r.uniform(1, 12))

    def app_scam(self) -> None:
        r = self.rng
        victim = r.choice(self.customers)
        at = self._when()
        payee = self._iban(self._country(0.4))
        for _ in range(r.randint(1, 3)):
            amount = r.uniform(900, 9000)
            if r.random() < 0.7:
                amount = round(amount, -2)
            self._add(
                Row(at, victim, payee, _money(amount), victim.devices[-1], victim.ip, 1, "app_scam")
            )
            at += timedelta(hours=r.uniform(2, 30))

    def mule(self) -> None:
        r = self.rng
        mule = self._customer()  # a young account: no history of its own
        self.customers.append(mule)
        at = self._when()
        total = 0.0
        for payer in r.sample(self.customers[:-1], r.randint(5, 14)):
            amount = r.uniform(150, 2500)
            total += amount
            self._add(
                Row(at, payer, mule.iban, _money(amount), payer.devices[-1], payer.ip, 1, "mule")
            )
            at += timedelta(minutes=r.uniform(5, 180))
        out = [self._iban(r.choice(FOREIGN_COUNTRIES)) for _ in range(r.randint(1, 3))]
        at += timedelta(minutes=r.uniform(10, 120))
        for payee in out:
            amount = total * 0.95 / len(out)
            self._add(Row(at, mule, payee, _money(amount), mule.devices[-1], mule.ip, 1, "mule"))
            at += timedelta(minutes=r.uniform(1, 20))

    def card_testing(self) -> None:
        r = self.rng
        victim = r.choice(self.customers)
        at = self._when(night=r.random() < 0.4)
        device = self._device() if r.random() < 0.6 else victim.devices[-1]
        ip = self._ip()
        shops = [self._iban(self._country(0.5)) for _ in range(r.randint(1, 3))]
        for _ in range(r.randint(10, 40)):
            self._add(
                Row(
                    at,
                    victim,
                    r.choice(shops),
                    _money(r.uniform(0.5, 5.0)),
                    device,
                    ip,
                    1,
                    "card_testing",
                    rejected=r.random() < 0.3,
                )
            )
            at += timedelta(seconds=r.uniform(5, 60))

    def structuring(self) -> None:
        r = self.rng
        customer = r.choice(self.customers)
        at = self._when()
        payees = customer.payees[:2] + [self._iban(self._country(0.3)) for _ in range(2)]
        for _ in range(r.randint(3, 6)):
            amount = r.uniform(9000, 9990)
            self._add(
                Row(
                    at,
                    customer,
                    r.choice(payees),
                    _money(amount),
                    customer.devices[-1],
                    customer.ip,
                    1,
                    "structuring",
                )
            )
            at += timedelta(hours=r.uniform(1, 20))

    # -- output ----------------------------------------------------------------------

    def _add(self, row: Row) -> None:
        self.rows.append(row)

    def run(self, fraud_cases: int | None = None) -> list[Row]:
        for customer in list(self.customers):
            self._legit(customer)
        typologies = (
            self.account_takeover,
            self.app_scam,
            self.mule,
            self.card_testing,
            self.structuring,
        )
        cases = fraud_cases if fraud_cases is not None else max(3, len(self.customers) // 30)
        for _ in range(cases):
            for typology in typologies:
                typology()
        self.rows.sort(key=lambda row: row.at)
        return self.rows


def _money(amount: float) -> Decimal:
    return max(Decimal(str(amount)).quantize(CENT), CENT)


def to_record(row: Row, index: int, seed: int) -> dict[str, Any]:
    debtor = row.debtor
    debtor_iban = debtor.iban if isinstance(debtor, Customer) else debtor
    debtor_name = debtor.name if isinstance(debtor, Customer) else "External"
    return {
        "message": {
            "externalId": f"SIM-{seed}-{index:07d}",
            "channel": "SIMULATOR",
            "debtor": {"iban": debtor_iban, "name": debtor_name},
            "creditor": {"iban": row.creditor, "name": "Payee"},
            "amount": str(row.amount),
            "currency": "EUR",
            "reference": "simulated",
            "requestedAt": row.at.isoformat().replace("+00:00", "Z"),
            "metadata": {"deviceId": row.device, "ip": row.ip},
        },
        "label": row.label,
        "typology": row.typology,
        "rejected": row.rejected,
    }


def simulate(seed: int, out: Path, customers: int = 600, days: int = 28) -> dict[str, Any]:
    """Write the simulated data set for ``seed`` into ``out``; returns the summary."""
    simulator = Simulator(seed, customers=customers, days=days)
    rows = simulator.run()
    out.mkdir(parents=True, exist_ok=True)
    with (out / "payments.jsonl").open("w", encoding="utf-8") as handle:
        for index, row in enumerate(rows):
            handle.write(json.dumps(to_record(row, index, seed)) + "\n")
    with (out / "customers.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["iban", "holder_name", "currency", "overdraft_limit"])
        for customer in simulator.customers:
            writer.writerow([customer.iban, customer.name, "EUR", OVERDRAFT])
    counts = Counter(row.typology for row in rows)
    summary = {
        "seed": seed,
        "customers": len(simulator.customers),
        "payments": len(rows),
        "fraudulent": sum(row.label for row in rows),
        "typologies": dict(sorted(counts.items())),
        "from": rows[0].at.isoformat() if rows else None,
        "to": rows[-1].at.isoformat() if rows else None,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary
