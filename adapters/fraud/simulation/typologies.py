"""Fraud typologies injected into the simulated stream (``label`` 1, ``typology`` names it).

``account_takeover``: a new device and IP, mostly at night, one to four large payments to
new payees within half an hour. ``remote_access_takeover``: a remote-access tool on the
customer's own device and IP, at normal hours, drains the account to new payees.
``app_scam``: the customer pays a new payee one to three large, often round amounts.
``investment_scam``: escalating amounts to the same new payee over days.
``romance_scam``: repeated payments to one new, often foreign, payee over weeks.
``invoice_redirection``: a business pays its usual supplier's name and amount to a new
IBAN. ``mule``: a young account receives from customers it never dealt with, then sends
abroad. ``mule_chain``: a mule receives from other banks (incoming credits) and forwards to
a second mule, who forwards abroad. ``card_testing``: a burst of tiny payments to new
merchants. ``distributed_card_testing``: many accounts, a few tiny payments each, one
merchant. ``structuring``: payments just below a reporting threshold (the profile's bands).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from adapters.fraud.simulation.population import Customer, Population, Row, money, payee_check

PAYEES = {
    "invoice_redirection": "impostor",
    "app_scam": "scammer",
    "investment_scam": "scammer",
    "romance_scam": "scammer",
}
"""Who the payer is talked into paying, for the payee-name check (others: an honest match)."""
UNCHECKED = ("card_testing", "distributed_card_testing")
"""Card payments: no payee-name check."""


class Fraud:
    """Writes fraud cases of every typology into ``add``."""

    def __init__(
        self,
        population: Population,
        customers: list[Customer],
        days: int,
        add: Callable[[Row], None],
    ) -> None:
        self.pop = population
        self.rng = population.rng
        self.profile = population.profile
        self.customers = customers
        self.days = days
        self.add = add

    def typologies(self) -> dict[str, Callable[[], None]]:
        return {
            "account_takeover": self.account_takeover,
            "remote_access_takeover": self.remote_access_takeover,
            "app_scam": self.app_scam,
            "investment_scam": self.investment_scam,
            "romance_scam": self.romance_scam,
            "invoice_redirection": self.invoice_redirection,
            "mule": self.mule,
            "mule_chain": self.mule_chain,
            "card_testing": self.card_testing,
            "distributed_card_testing": self.distributed_card_testing,
            "structuring": self.structuring,
        }

    def _when(self, night: bool = False, span: float = 3) -> datetime:
        r = self.rng
        day = self.profile.start + timedelta(days=r.uniform(1, max(1.5, self.days - span)))
        hour = r.randrange(0, 6) if night else r.randrange(8, 21)
        return day.replace(hour=hour, minute=r.randrange(60), second=r.randrange(60))

    def _row(
        self,
        at: datetime,
        debtor: Customer | str,
        creditor: str,
        amount: float,
        device: str,
        ip: str,
        typology: str,
        rejected: bool = False,
        creditor_name: str = "Payee",
    ) -> None:
        checked = isinstance(debtor, Customer) and typology not in UNCHECKED
        share = self.profile.payee_check_share if checked else 0.0
        check = payee_check(self.rng, share, PAYEES.get(typology, "honest"))
        self.add(
            Row(
                at,
                debtor,
                creditor,
                money(amount),
                device,
                ip,
                1,
                typology,
                rejected=rejected,
                creditor_name=creditor_name,
                payee_check=check,
            )
        )

    def _victim(self, segment: str | None = None) -> Customer:
        pool = [c for c in self.customers if segment is None or c.segment == segment]
        return self.rng.choice(pool or self.customers)

    def account_takeover(self) -> None:
        r = self.rng
        victim = self._victim()
        at = self._when(night=r.random() < self.profile.night_share)
        device, ip = self.pop.device(), self.pop.ip()
        payees = [self.pop.iban(self.pop.country(0.7)) for _ in range(r.randint(1, 2))]
        for _ in range(r.randint(1, 4)):
            amount = r.uniform(1500, 15000) if r.random() < 0.8 else r.uniform(300, 1500)
            self._row(
                at,
                victim,
                r.choice(payees),
                amount * self.profile.amount_scale,
                device,
                ip,
                "account_takeover",
            )
            at += timedelta(minutes=r.uniform(1, 12))

    def remote_access_takeover(self) -> None:
        r = self.rng
        victim = self._victim()
        at = self._when()
        payees = [self.pop.iban(self.pop.country(0.5)) for _ in range(r.randint(1, 2))]
        for _ in range(r.randint(2, 5)):
            amount = r.uniform(1000, 9000) * self.profile.amount_scale
            self._row(
                at,
                victim,
                r.choice(payees),
                amount,
                victim.devices[-1],
                victim.ip,
                "remote_access_takeover",
            )
            at += timedelta(minutes=r.uniform(2, 25))

    def app_scam(self) -> None:
        r = self.rng
        victim, at = self._victim(), self._when()
        payee = self.pop.iban(self.pop.country(0.4))
        low, high = self.profile.app_amounts
        for _ in range(r.randint(1, 3)):
            amount = r.uniform(low, high)
            amount = round(amount, -2) if r.random() < 0.7 else amount
            self._row(at, victim, payee, amount, victim.devices[-1], victim.ip, "app_scam")
            at += timedelta(hours=r.uniform(2, 30))

    def investment_scam(self) -> None:
        r = self.rng
        victim, at = self._victim(), self._when(span=14)
        payee = self.pop.iban(self.pop.country(0.6))
        amount = r.uniform(200, 1000) * self.profile.amount_scale
        for _ in range(r.randint(3, 7)):
            self._row(at, victim, payee, amount, victim.devices[-1], victim.ip, "investment_scam")
            amount *= r.uniform(1.3, 2.5)
            at = at.replace(hour=r.randrange(8, 21)) + timedelta(days=r.uniform(1, 5))

    def romance_scam(self) -> None:
        r = self.rng
        victim, at = self._victim(), self._when(span=7 * self.profile.romance_weeks)
        payee = self.pop.iban(self.pop.country(0.75))
        end = at + timedelta(weeks=self.profile.romance_weeks)
        while at < end:
            amount = r.uniform(200, 3000) * self.profile.amount_scale
            self._row(at, victim, payee, amount, victim.devices[-1], victim.ip, "romance_scam")
            at = at.replace(hour=r.randrange(8, 23)) + timedelta(days=r.uniform(2, 7))

    def invoice_redirection(self) -> None:
        """The supplier's real invoice (its name, its amount) with the fraudster's IBAN."""
        r = self.rng
        business = self._victim("business")
        if not business.suppliers:
            return
        index = r.randrange(len(business.suppliers))
        _, company, invoice = business.suppliers[index]
        fake = self.pop.iban(self.pop.country(0.5))
        at = self._when()
        for _ in range(r.randint(1, 2)):
            amount = invoice if index < business.fixed else invoice * r.uniform(0.85, 1.15)
            device = business.devices[-1]
            self._row(
                at,
                business,
                fake,
                amount,
                device,
                business.ip,
                "invoice_redirection",
                creditor_name=company,
            )
            at += timedelta(days=r.uniform(5, 14))

    def _young(self, at: datetime) -> Customer:
        mule = self.pop.customer("retail")
        mule.opened_at = at - timedelta(days=self.rng.uniform(1, 45))
        mule.payees = [self.pop.iban(mule.country)]
        self.customers.append(mule)
        return mule

    def _forward(
        self, mule: Customer, at: datetime, total: float, out: list[str], typology: str
    ) -> None:
        r = self.rng
        at += timedelta(minutes=r.uniform(10, 120))
        for payee in out:
            self._row(at, mule, payee, total * 0.95 / len(out), mule.devices[-1], mule.ip, typology)
            at += timedelta(minutes=r.uniform(1, 20))

    def mule(self) -> None:
        r = self.rng
        at = self._when()
        mule, total = self._young(at), 0.0
        for payer in r.sample(self.customers[:-1], r.randint(5, 14)):
            amount = r.uniform(150, 2500) * self.profile.amount_scale
            total += amount
            self._row(at, payer, mule.iban, amount, payer.devices[-1], payer.ip, "mule")
            at += timedelta(minutes=r.uniform(5, 180))
        out = [
            self.pop.iban(r.choice(self.profile.foreign_countries)) for _ in range(r.randint(1, 3))
        ]
        self._forward(mule, at, total, out, "mule")

    def mule_chain(self) -> None:
        r = self.rng
        at = self._when()
        first, total = self._young(at), 0.0
        for _ in range(r.randint(4, 12)):  # incoming credits from victims at other banks
            amount = r.uniform(150, 2500) * self.profile.amount_scale
            total += amount
            payer = self.pop.iban(self.pop.country(0.3))
            self._row(at, payer, first.iban, amount, "", "", "mule_chain", creditor_name=first.name)
            at += timedelta(minutes=r.uniform(5, 180))
        second = self._young(at)
        self._forward(first, at, total, [second.iban], "mule_chain")
        at += timedelta(minutes=r.uniform(30, 240))
        out = [
            self.pop.iban(r.choice(self.profile.foreign_countries)) for _ in range(r.randint(1, 2))
        ]
        self._forward(second, at, total * 0.95, out, "mule_chain")

    def card_testing(self) -> None:
        r = self.rng
        victim = self._victim()
        at = self._when(night=r.random() < 0.4)
        device = self.pop.device() if r.random() < 0.6 else victim.devices[-1]
        ip = self.pop.ip()
        shops = [self.pop.iban(self.pop.country(0.5)) for _ in range(r.randint(1, 3))]
        low, high = self.profile.card_test_amounts
        for _ in range(r.randint(10, 40)):
            self._row(
                at,
                victim,
                r.choice(shops),
                r.uniform(low, high),
                device,
                ip,
                "card_testing",
                rejected=r.random() < 0.3,
            )
            at += timedelta(seconds=r.uniform(5, 60))

    def distributed_card_testing(self) -> None:
        r = self.rng
        shop = self.pop.iban(self.pop.country(0.5))
        at = self._when(night=r.random() < 0.4)
        low, high = self.profile.card_test_amounts
        for victim in r.sample(self.customers, min(len(self.customers), r.randint(10, 40))):
            device = self.pop.device() if r.random() < 0.3 else victim.devices[-1]
            for _ in range(r.randint(1, 3)):
                self._row(
                    at,
                    victim,
                    shop,
                    r.uniform(low, high),
                    device,
                    self.pop.ip(),
                    "distributed_card_testing",
                    rejected=r.random() < 0.3,
                )
                at += timedelta(seconds=r.uniform(5, 90))

    def structuring(self) -> None:
        r = self.rng
        customer, at = self._victim(), self._when()
        low, high = r.choice(self.profile.structuring_bands)
        payees = customer.payees[:2] + [self.pop.iban(self.pop.country(0.3)) for _ in range(2)]
        for _ in range(r.randint(3, 6)):
            self._row(
                at,
                customer,
                r.choice(payees),
                r.uniform(low, high),
                customer.devices[-1],
                customer.ip,
                "structuring",
            )
            at += timedelta(hours=r.uniform(1, 20))
