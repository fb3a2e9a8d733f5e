"""The simulated bank's customers and the payees around them, by segment.

Segments: ``retail`` (shops, utilities, friends), ``salaried`` (a monthly salary received
from an employer at another bank, rent by standing order), ``student`` (many small
payments, an allowance received), ``business`` (suppliers paid by bulk files, payroll paid
out to employees), ``traveller`` (new devices and IPs abroad). Every value comes from the
simulator's ``random.Random``: the same seed and profile give the same population.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from schwifty import IBAN as SchwiftyIban

from adapters.fraud.simulation.profiles import Profile

CENT = Decimal("0.01")

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
    "Piotr",
    "Jana",
    "Tomáš",
    "Eva",
    "Ivan",
    "Petra",
]
LAST = [
    "Müller",
    "Schmidt",
    "Martin",
    "Dupont",
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
    "Nowak",
    "Novák",
    "Horváth",
    "Kovač",
    "Kowalski",
]
COMPANIES = [
    "Bau",
    "Logistik",
    "Consulting",
    "Print",
    "Food",
    "Parts",
    "Media",
    "Systems",
    "Tools",
    "Textiles",
    "Metall",
    "Software",
]


@dataclass
class Standing:
    """A standing order: a fixed amount to a known payee on a day of the month."""

    payee: str
    amount: float
    day: int


@dataclass
class Customer:
    """One account of the bank and the habits its payments follow."""

    iban: str
    name: str
    country: str
    segment: str
    devices: list[str]
    ip: str
    rate: float  # payments per day
    median: float  # typical amount
    hours: tuple[int, int]  # active hours (UTC), inclusive start, exclusive end
    payees: list[str] = field(default_factory=list)
    standing: list[Standing] = field(default_factory=list)
    suppliers: list[tuple[str, str, float]] = field(default_factory=list)
    """Business: (IBAN, name, usual invoice amount) of each supplier; the first ``fixed``
    bill the same amount every time (a lease, a subscription)."""
    fixed: int = 0
    cadence: int = 14
    """Business: days between bulk files."""
    employees: list[tuple[str, float]] = field(default_factory=list)
    """Business: (IBAN, monthly pay) of each employee paid out."""
    opened_at: datetime | None = None
    """When the account was opened (``opened_at`` in customers.csv)."""
    employer: str | None = None
    """Salaried and students: the external IBAN paying the salary or the allowance."""
    income: float = 0.0


@dataclass
class Row:
    """One simulated payment."""

    at: datetime
    debtor: Customer | str
    creditor: str
    amount: Decimal
    device: str
    ip: str
    label: int = 0
    typology: str = "legit"
    rejected: bool = False
    kind: str = "payment"
    """What kind of legitimate payment (``standing_order``, ``payroll``, ``bulk``, ...)."""
    creditor_name: str = "Payee"
    payee_check: str = ""
    """The Verification of Payee outcome the payer saw (MTCH, CMTC, NMTC, NOAP; "" none)."""


# Verification of Payee outcomes (MTCH, CMTC, NMTC, NOAP) the payer sees, by who is paid:
# an honest payee mostly matches; a fraudster's account under the usual supplier's name does
# not; a scammer tells the victim which name to enter, so it often matches.
PAYEE_CHECKS: dict[str, tuple[float, float, float, float]] = {
    "honest": (0.93, 0.04, 0.015, 0.015),
    "impostor": (0.15, 0.25, 0.55, 0.05),
    "scammer": (0.55, 0.28, 0.14, 0.03),
}


def payee_check(rng: random.Random, share: float, payee: str = "honest") -> str:
    """The VoP outcome of one payment: none (``""``) for the payments without a check."""
    if rng.random() >= share:
        return ""
    return rng.choices(("MTCH", "CMTC", "NMTC", "NOAP"), weights=PAYEE_CHECKS[payee])[0]


def money(amount: float) -> Decimal:
    return max(Decimal(str(amount)).quantize(CENT), CENT)


class Population:
    """Random identities (IBANs, devices, IPs) and customers of one profile."""

    def __init__(self, rng: random.Random, seed: int, profile: Profile) -> None:
        self.rng = rng
        self.seed = seed
        self.profile = profile
        self.used: set[str] = set()
        self.serial = 0

    def country(self, foreign_share: float) -> str:
        if self.rng.random() < foreign_share:
            return self.rng.choice(self.profile.foreign_countries)
        return self.rng.choice(self.profile.home_countries)

    def iban(self, country: str) -> str:
        while True:
            value = str(SchwiftyIban.random(country_code=country, random=self.rng).compact)
            if value not in self.used:
                self.used.add(value)
                return value

    def device(self) -> str:
        self.serial += 1
        return f"dev-{self.seed}-{self.serial:06d}"

    def ip(self) -> str:
        r = self.rng
        return f"{r.randint(2, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def person(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def customer(self, segment: str | None = None) -> Customer:
        r, p = self.rng, self.profile
        if segment is None:
            segment = r.choices(list(p.segments), weights=list(p.segments.values()))[0]
        country = r.choice(p.home_countries)
        start = max(0, min(12, r.choice((6, 7, 8, 9, 10)) + p.hour_shift))
        rate, median = {
            "retail": (1.6, 60.0),
            "salaried": (1.8, 70.0),
            "student": (3.5, 9.0),
            "business": (2.5, 400.0),
            "traveller": (2.0, 90.0),
        }[segment]
        name = self.person()
        if segment == "business":
            name = f"{r.choice(LAST)} {r.choice(COMPANIES)} GmbH"
        return Customer(
            iban=self.iban(country),
            name=name,
            country=country,
            segment=segment,
            devices=[self.device() for _ in range(r.choice((1, 1, 2)))],
            ip=self.ip(),
            rate=r.lognormvariate(math.log(rate), 0.5),
            median=r.lognormvariate(math.log(median * p.amount_scale), 0.6),
            hours=(start, min(24, start + r.randint(11, 15))),
            opened_at=p.start
            - timedelta(days=r.uniform(30, 1500) if segment == "student" else r.uniform(90, 7000)),
        )

    def equip(
        self,
        customer: Customer,
        merchants: list[str],
        popularity: list[float],
        others: list[Customer],
    ) -> None:
        """Regular payees, standing orders, suppliers, employees and income of ``customer``."""
        r, scale = self.rng, self.profile.amount_scale
        k = r.randint(3, 10)
        regular = r.choices(merchants, weights=popularity, k=k)
        friends = [r.choice(others).iban for _ in range(r.randint(0, 2))]
        customer.payees = list(dict.fromkeys(regular + friends + [self.iban(customer.country)]))
        if customer.segment in ("salaried", "student", "traveller", "retail"):
            for _ in range(r.choice((0, 1, 1, 2, 3))):
                payee = r.choice(customer.payees)
                amount = round(r.lognormvariate(math.log(40 * scale), 0.9), r.choice((0, 2)))
                customer.standing.append(Standing(payee, amount, r.randint(1, 28)))
        if customer.segment == "salaried":
            customer.employer = self.iban(self.country(0.1))
            customer.income = r.uniform(1800, 5500) * scale
            landlord = self.iban(customer.country)
            customer.payees.append(landlord)
            rent = round(customer.income * r.uniform(0.25, 0.4), -1)
            customer.standing.append(Standing(landlord, rent, r.randint(1, 5)))
        elif customer.segment == "student":
            customer.employer = self.iban(self.country(0.05))
            customer.income = r.uniform(300, 900) * scale
        elif customer.segment == "business":
            for _ in range(r.randint(3, 12)):
                supplier = self.iban(self.country(0.25))
                invoice = r.lognormvariate(math.log(2500 * scale), 0.9)
                company = f"{r.choice(LAST)} {r.choice(COMPANIES)}"
                customer.suppliers.append((supplier, company, invoice))
                customer.payees.append(supplier)
            customer.fixed = r.randint(1, len(customer.suppliers))
            customer.cadence = r.choice((7, 14, 14))
            for _ in range(r.randint(2, 15)):
                customer.employees.append((self.iban(customer.country), r.uniform(1600, 4500)))
