"""Legitimate payments: everyday habits, recurring payments and look-alikes of fraud.

Everyday payments follow each customer's rhythm, hours and amounts. Recurring ones come on
calendar days: standing orders (a fixed amount to a known payee, executed by the bank early
in the morning, no device), salaries and allowances received from other banks (incoming
credits, ``direction`` incoming), a business's supplier payments in bulk files and its
payroll paid out. Look-alikes of every fraud pattern are legitimate too: a car bought from
a new payee, a new phone, night payments, bursts of micro-payments, payments just below a
reporting threshold, a first payment to a foreign payee, instalments rising to a new payee
(a builder), a monthly remittance to family abroad, a new supplier's first invoice, a
traveller's new devices and IPs abroad, a seller receiving from many new buyers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from adapters.fraud.simulation.population import Customer, Population, Row, money, payee_check

UNCHECKED = ("standing_order", "payroll", "bulk")
"""Kinds of payment made without a payee-name check (set up once, or a bulk file)."""


class Legit:
    """Writes the legitimate payments of customers into ``add``."""

    def __init__(self, population: Population, days: int, add: Callable[[Row], None]) -> None:
        self.pop = population
        self.rng: random.Random = population.rng
        self.profile = population.profile
        self.days = days
        self.add = add
        self.start = population.profile.start
        self.end = self.start + timedelta(days=days)

    def _at(self, customer: Customer, day: float) -> datetime:
        r = self.rng
        t = self.start + timedelta(days=day)
        return t.replace(hour=r.randrange(*customer.hours), minute=r.randrange(60))

    def _device(self, customer: Customer) -> tuple[str, str]:
        r = self.rng
        device = customer.devices[-1] if r.random() < 0.8 else r.choice(customer.devices)
        return device, customer.ip if r.random() < 0.9 else self.pop.ip()

    def _pay(
        self,
        customer: Customer,
        at: datetime,
        payee: str,
        amount: float,
        kind: str,
        device: tuple[str, str] | None = None,
        name: str = "Payee",
    ) -> None:
        if at >= self.end or at < self.start:
            return
        dev, ip = device or self._device(customer)
        rejected = self.rng.random() < 0.004
        share = 0.0 if kind in UNCHECKED else self.profile.payee_check_share
        self.add(
            Row(
                at,
                customer,
                payee,
                money(amount),
                dev,
                ip,
                rejected=rejected,
                kind=kind,
                creditor_name=name,
                payee_check=payee_check(self.rng, share),
            )
        )

    def customer(self, customer: Customer) -> None:
        self.everyday(customer)
        self.recurring(customer)
        self.lookalikes(customer)

    # -- everyday --------------------------------------------------------------------

    def everyday(self, customer: Customer) -> None:
        r = self.rng
        day = r.uniform(0, 1)
        while True:
            day += r.expovariate(customer.rate)
            if day >= self.days:
                return
            at = self._at(customer, day)
            if r.random() < 0.03 * self.profile.lookalike_rate:  # a late-night payment
                at = at.replace(hour=r.randrange(0, 6))
            amount = r.lognormvariate(math.log(customer.median), 0.8)
            payee = r.choice(customer.payees)
            roll = r.random()
            if roll < 0.04:  # a new payee; sometimes abroad
                payee = self.pop.iban(self.pop.country(0.2))
                customer.payees.append(payee)
            elif roll < 0.06:  # a large payment: a repair, a holiday, furniture
                amount = r.uniform(500, 4000) * self.profile.amount_scale
                amount = round(amount, -2) if r.random() < 0.6 else amount
            elif roll < 0.08:  # a round transfer
                amount = float(r.choice((20, 50, 100, 200, 500)))
            if r.random() < 0.01:  # a new phone, kept from now on
                customer.devices.append(self.pop.device())
            self._pay(customer, at, payee, amount, "everyday")

    # -- recurring -------------------------------------------------------------------

    def _months(self) -> list[datetime]:
        first = self.start.replace(day=1, hour=0, minute=0, second=0)
        months = []
        while first < self.end:
            months.append(first)
            first = (first + timedelta(days=32)).replace(day=1)
        return months

    def recurring(self, customer: Customer) -> None:
        r = self.rng
        for month in self._months():
            for order in customer.standing:
                at = month.replace(day=order.day, hour=r.randrange(1, 5), minute=r.randrange(60))
                self._pay(customer, at, order.payee, order.amount, "standing_order", ("", ""))
            if customer.employer is not None:
                at = month.replace(day=r.choice((25, 26, 27, 28)), hour=r.randrange(0, 6))
                if self.start <= at < self.end:
                    kind = "salary" if customer.segment != "student" else "allowance"
                    self.add(
                        Row(
                            at,
                            customer.employer,
                            customer.iban,
                            money(customer.income),
                            "",
                            "",
                            kind=kind,
                            creditor_name=customer.name,
                        )
                    )
            if customer.employees:
                at = self._at(
                    customer, (month.replace(day=27) - self.start).total_seconds() / 86400
                )
                device = self._device(customer)
                for iban, pay in customer.employees:
                    self._pay(customer, at, iban, pay, "payroll", device, "Employee")
                    at += timedelta(seconds=r.uniform(0, 2))
        if customer.suppliers:
            day = r.uniform(0, customer.cadence)
            while day < self.days:  # a bulk file on the business's cadence
                at, device = self._at(customer, day), self._device(customer)
                fixed = customer.suppliers[: customer.fixed]
                variable = customer.suppliers[customer.fixed :]
                chosen = fixed + r.sample(variable, r.randint(0, len(variable)))
                for index, (iban, company, invoice) in enumerate(chosen):
                    amount = invoice if index < len(fixed) else invoice * r.uniform(0.85, 1.15)
                    self._pay(customer, at, iban, amount, "bulk", device, company)
                    at += timedelta(seconds=r.uniform(0, 2))
                day += customer.cadence

    # -- look-alikes of fraud --------------------------------------------------------

    def lookalikes(self, customer: Customer) -> None:
        r, rate = self.rng, self.profile.lookalike_rate * self.days / 28
        kinds = (
            (0.03, self.car),
            (0.03, self.new_phone_payment),
            (0.08 if customer.segment == "student" else 0.03, self.micro_burst),
            (0.02, self.below_threshold),
            (0.06, self.foreign_first),
            (0.02, self.instalments),
            (0.03, self.remittance),
            (0.3 if customer.segment == "business" else 0.0, self.new_supplier),
            (0.6 if customer.segment == "traveller" else 0.03, self.trip),
            (0.02, self.seller),
        )
        for probability, make in kinds:
            if r.random() < probability * rate:
                make(customer, r.uniform(1, max(1.5, self.days - 2)))

    def car(self, customer: Customer, day: float) -> None:
        """A car or a deposit: a large amount to a new payee, sometimes a test cent first."""
        r = self.rng
        payee, at = self.pop.iban(self.pop.country(0.1)), self._at(customer, day)
        if r.random() < 0.3:
            self._pay(customer, at, payee, 1.0, "car")
            at += timedelta(minutes=r.uniform(5, 120))
        amount = r.uniform(3000, 30000) * self.profile.amount_scale
        self._pay(customer, at, payee, round(amount, -2) if r.random() < 0.5 else amount, "car")
        customer.payees.append(payee)

    def new_phone_payment(self, customer: Customer, day: float) -> None:
        customer.devices.append(self.pop.device())
        at = self._at(customer, day)
        amount = self.rng.uniform(200, 2500) * self.profile.amount_scale
        self._pay(customer, at, self.rng.choice(customer.payees), amount, "new_phone")

    def micro_burst(self, customer: Customer, day: float) -> None:
        """Transit tickets, an app store, a game: many tiny payments within minutes."""
        r = self.rng
        shop = (
            r.choice(customer.payees) if r.random() < 0.6 else self.pop.iban(self.pop.country(0.3))
        )
        at, device = self._at(customer, day), self._device(customer)
        for _ in range(r.randint(5, 25)):
            self._pay(customer, at, shop, r.uniform(0.3, 6.0), "micro_burst", device)
            at += timedelta(seconds=r.uniform(10, 240))

    def below_threshold(self, customer: Customer, day: float) -> None:
        """A tax payment or a flat deposit that happens to be just below a threshold."""
        r = self.rng
        low, high = r.choice(self.profile.structuring_bands)
        payee = r.choice(customer.payees) if r.random() < 0.5 else self.pop.iban(customer.country)
        at = self._at(customer, day)
        for _ in range(1 if r.random() < 0.8 else 2):
            self._pay(customer, at, payee, r.uniform(low, high), "below_threshold")
            at += timedelta(days=r.uniform(1, 10))

    def foreign_first(self, customer: Customer, day: float) -> None:
        """A holiday flat or an online shop abroad, paid for the first time."""
        payee = self.pop.iban(self.rng.choice(self.profile.foreign_countries))
        amount = self.rng.uniform(60, 1800) * self.profile.amount_scale
        self._pay(customer, self._at(customer, day), payee, amount, "foreign_first")
        customer.payees.append(payee)

    def instalments(self, customer: Customer, day: float) -> None:
        """A builder or a course paid in rising instalments to a new payee."""
        r = self.rng
        payee, amount = self.pop.iban(customer.country), r.uniform(300, 1500)
        for _ in range(r.randint(2, 4)):
            self._pay(customer, self._at(customer, day), payee, amount, "instalments")
            amount *= r.uniform(1.1, 1.8)
            day += r.uniform(3, 10)

    def remittance(self, customer: Customer, day: float) -> None:
        """Money sent to family abroad, again and again to the same payee."""
        r = self.rng
        payee, amount = self.pop.iban(r.choice(self.profile.foreign_countries)), r.uniform(100, 800)
        while day < self.days:
            self._pay(
                customer, self._at(customer, day), payee, amount * r.uniform(0.8, 1.2), "remittance"
            )
            day += r.uniform(6, 16)

    def new_supplier(self, customer: Customer, day: float) -> None:
        """A business pays a new supplier's first invoice (then keeps paying it)."""
        r = self.rng
        iban = self.pop.iban(self.pop.country(0.25))
        invoice = r.lognormvariate(math.log(2500 * self.profile.amount_scale), 0.9)
        self._pay(
            customer, self._at(customer, day), iban, invoice, "new_supplier", None, "Supplier"
        )
        customer.suppliers.append((iban, "Supplier", invoice))
        customer.payees.append(iban)

    def trip(self, customer: Customer, day: float) -> None:
        """A trip abroad: a new IP each day, often a new (rented or replaced) device, shops
        abroad paid for the first time, payments at other hours."""
        r = self.rng
        device = self.pop.device() if r.random() < 0.4 else customer.devices[-1]
        for offset in range(r.randint(2, 8)):
            ip = self.pop.ip()
            for _ in range(r.randint(1, 4)):
                at = self._at(customer, day + offset) + timedelta(hours=r.choice((-6, 0, 0, 5)))
                shop = self.pop.iban(r.choice(self.profile.foreign_countries))
                amount = r.lognormvariate(math.log(customer.median * 1.5), 0.9)
                self._pay(customer, at, shop, amount, "trip", (device, ip))

    def seller(self, customer: Customer, day: float) -> None:
        """An online seller: buyers at other banks pay the customer (incoming credits)."""
        r = self.rng
        at = self._at(customer, day)
        for _ in range(r.randint(4, 15)):
            buyer = self.pop.iban(self.pop.country(0.2))
            if at < self.end:
                self.add(
                    Row(
                        at,
                        buyer,
                        customer.iban,
                        money(r.uniform(10, 400)),
                        "",
                        "",
                        kind="sale",
                        creditor_name=customer.name,
                    )
                )
            at += timedelta(minutes=r.uniform(10, 300))
