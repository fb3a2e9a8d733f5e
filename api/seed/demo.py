"""``ledger demo``: realistic demo data, booked through the real use cases.

Customer accounts with valid IBANs of several EU countries (EUR, plus PLN in Poland and SEK in
Sweden), salaries coming in from employers elsewhere, card, utility and rent payments going
out, transfers between customers, and the unhappy paths a backoffice sees: payments to unknown
accounts, a frozen account, insufficient funds, a currency mismatch, screening declines, large
payments held for review (some released, some rejected, some still waiting), reversals and
settlements. Everything is deterministic for a given ``seed``; external ids derive from it, so
running the same seed twice books nothing twice.

Backoffice users and maker-checker: two admins, ``alice`` and ``bob``, are provisioned (the
console bootstrap); alice requests roles for olga (operator), fred (fraud_analyst), carl
(compliance), audrey (auditor), vic (viewer) and rita (reconciler) and bob approves them.
Accounts are frozen by olga's request and carl's approval, and one request (olga asking to
lift a freeze) is left pending for a checker.

Payments are booked in batches through ``submit_payments`` (one commit per batch).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from schwifty import IBAN as SchwiftyIban

from api.runtime.bootstrap import Container
from application.errors import AlreadyExists, ApplicationError, Conflict
from application.identity.principals import Requester
from application.ledger.commands import OpenAccount, PaymentInstruction, SubmissionResult
from domain.causation import Causation, caused_by
from domain.iban import Iban
from domain.identity.permissions import ChangeKind, permissions_of

BATCH_SIZE = 250

# (country, currency, weight); amounts of the non-EUR currencies are scaled by SCALE.
COUNTRIES: tuple[tuple[str, str, int], ...] = (
    ("DE", "EUR", 20),
    ("FR", "EUR", 14),
    ("NL", "EUR", 10),
    ("ES", "EUR", 10),
    ("IT", "EUR", 10),
    ("AT", "EUR", 6),
    ("BE", "EUR", 6),
    ("IE", "EUR", 4),
    ("FI", "EUR", 4),
    ("PT", "EUR", 4),
    ("PL", "PLN", 6),
    ("SE", "SEK", 6),
)
SCALE = {"EUR": Decimal(1), "PLN": Decimal("4.3"), "SEK": Decimal("11.5")}
HOME = {"EUR": ("DE", "FR", "NL", "ES", "IT", "AT", "BE"), "PLN": ("PL",), "SEK": ("SE",)}

FIRST_NAMES = {
    "DE": ["Max", "Anna", "Lukas", "Sophie", "Jonas", "Lena", "Felix", "Marie"],
    "FR": ["Marie", "Louis", "Camille", "Hugo", "Chloé", "Lucas", "Léa", "Gabriel"],
    "NL": ["Daan", "Emma", "Sem", "Julia", "Lars", "Sanne", "Bram", "Fleur"],
    "ES": ["Lucía", "Hugo", "Martina", "Pablo", "Carmen", "Javier", "Elena", "Diego"],
    "IT": ["Giulia", "Lorenzo", "Sofia", "Matteo", "Aurora", "Leonardo", "Chiara", "Marco"],
    "AT": ["Paul", "Laura", "Elias", "Hannah", "Tobias", "Valentina", "David", "Lea"],
    "BE": ["Noah", "Olivia", "Arthur", "Louise", "Jules", "Mila", "Victor", "Elise"],
    "IE": ["Jack", "Grace", "Conor", "Aoife", "Seán", "Niamh", "Cian", "Saoirse"],
    "FI": ["Eino", "Aino", "Väinö", "Helmi", "Onni", "Ella", "Leo", "Sofia"],
    "PT": ["João", "Maria", "Tiago", "Beatriz", "Rodrigo", "Inês", "Duarte", "Leonor"],
    "PL": ["Jan", "Zofia", "Jakub", "Julia", "Antoni", "Maja", "Szymon", "Hanna"],
    "SE": ["Erik", "Astrid", "Oskar", "Elsa", "Hugo", "Ebba", "Nils", "Saga"],
}
LAST_NAMES = {
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Mustermann", "Becker"],
    "FR": ["Martin", "Bernard", "Dupont", "Moreau", "Laurent", "Lefebvre", "Girard"],
    "NL": ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit"],
    "ES": ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez"],
    "IT": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo"],
    "AT": ["Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Steiner", "Moser"],
    "BE": ["Peeters", "Janssens", "Maes", "Dubois", "Lambert", "Claes", "Wouters"],
    "IE": ["Murphy", "Kelly", "O'Sullivan", "Walsh", "Byrne", "Ryan", "O'Brien"],
    "FI": ["Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Hämäläinen", "Laine"],
    "PT": ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues"],
    "PL": ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński"],
    "SE": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson"],
}
EMPLOYERS = {
    "EUR": ["Siemens AG", "TotalEnergies SE", "Philips NV", "Iberdrola SA", "Enel SpA"],
    "PLN": ["PKN Orlen SA", "PZU SA"],
    "SEK": ["Volvo Car AB", "Ericsson AB"],
}
MERCHANTS = {
    "EUR": [
        "REWE Markt GmbH",
        "Carrefour SA",
        "Albert Heijn BV",
        "Mercadona SA",
        "Esselunga SpA",
        "Zalando SE",
        "IKEA Deutschland",
        "Deutsche Bahn AG",
        "SNCF Voyageurs",
        "Shell Station",
    ],
    "PLN": ["Biedronka", "Żabka Polska", "Allegro.pl"],
    "SEK": ["ICA Sverige AB", "Systembolaget", "SJ AB"],
}
UTILITIES = {
    "EUR": ["Stadtwerke München", "EDF", "Vattenfall Europe", "Vodafone GmbH", "Orange SA"],
    "PLN": ["PGE Obrót", "Orange Polska"],
    "SEK": ["Fortum Sverige", "Telia Sverige"],
}
LANDLORDS = {
    "EUR": ["Vonovia SE", "Gecina SA", "Hausverwaltung Berger", "Immobiliare Sole"],
    "PLN": ["Dom Development"],
    "SEK": ["Stockholmshem AB"],
}


@dataclass
class DemoReport:
    accounts_opened: int = 0
    accounts_existing: int = 0
    submitted: int = 0
    duplicates: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    released: int = 0
    rejected_after_review: int = 0
    reversed: int = 0
    settled: int = 0
    frozen: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    approved: int = 0
    """Change requests approved (and carried out) by a second person in this run."""
    pending: list[str] = field(default_factory=list)
    """Ids of the change requests this run left waiting for a checker."""
    events_projected: int = 0

    def final_statuses(self) -> dict[str, int]:
        return dict(sorted(self.by_status.items()))


@dataclass
class _Customer:
    iban: str
    name: str
    country: str
    currency: str
    overdraft: Decimal


@dataclass
class _Party:
    iban: str
    name: str


class _Generator:
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

    def external(self, currency: str, name: str) -> _Party:
        return _Party(self.iban(self.rng.choice(HOME[currency])), name)

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


def _message(
    gen: _Generator,
    kind: str,
    channel: str,
    debtor: _Party | _Customer,
    creditor: _Party | _Customer,
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


def _customers(gen: _Generator, count: int) -> list[_Customer]:
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
            _Customer(gen.iban(country), name, country, currency, overdraft.quantize(Decimal(1)))
        )
    return result


def seed_demo(
    container: Container,
    *,
    accounts: int = 60,
    transactions: int = 3000,
    seed: int = 42,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoReport:
    """Open ``accounts`` customer accounts and book about ``transactions`` payments."""
    if accounts < 2:
        raise ValueError("the demo needs at least 2 accounts")
    if transactions < 0:
        raise ValueError("transactions must not be negative")
    ledger = container.ledger
    gen = _Generator(seed)
    report = DemoReport()
    causation = Causation(actor="service:demo", correlation_id=f"demo-{seed}", channel="CLI")
    customers = _customers(gen, accounts)

    def tell(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    _seed_users(container, seed, report)

    with caused_by(causation):
        for index, customer in enumerate(customers, 1):
            command = OpenAccount(
                Iban(customer.iban), customer.name, customer.currency, customer.overdraft
            )
            try:
                ledger.open_account(command)
                report.accounts_opened += 1
            except AlreadyExists:
                report.accounts_existing += 1
            tell("accounts", index, len(customers))

        by_currency: dict[str, list[_Customer]] = {}
        for customer in customers:
            by_currency.setdefault(customer.currency, []).append(customer)

        plan = list(_plan(gen, customers, by_currency, transactions))
        results: dict[str, SubmissionResult] = {}
        booked = 0
        for start in range(0, len(plan), BATCH_SIZE):
            chunk = plan[start : start + BATCH_SIZE]
            freeze_before = [item for item in chunk if item[0] == "freeze"]
            for _, customer in freeze_before:
                _freeze(container, customer, report)
            messages = [item[1] for item in chunk if item[0] == "pay"]
            instructions = [PaymentInstruction.from_message(m) for m in messages]
            answers = ledger.submit_payments(instructions)
            for message, result in zip(messages, answers, strict=True):
                results[message["externalId"]] = result
                if result.duplicate:
                    report.duplicates += 1
                report.submitted += 1
            booked += len(chunk)
            tell("payments", min(booked, len(plan)), len(plan))

        _after_booking(container, gen, results, report)

    _leave_one_pending(container, seed, report)

    for result in results.values():
        final = ledger.get_transaction(UUID(result.transaction_id))
        report.by_status[str(final.status)] += 1
        if final.rejection_reason:
            report.by_reason[final.rejection_reason] += 1
    tell("projections", 0, 1)
    report.events_projected = container.projector.catch_up()
    tell("projections", 1, 1)
    return report


PlanItem = tuple[str, Any]


def _plan(
    gen: _Generator,
    customers: list[_Customer],
    by_currency: dict[str, list[_Customer]],
    budget: int,
) -> Iterator[PlanItem]:
    """The payments to book, in order: salaries first, then everyday life and the exceptions."""
    rng = gen.rng
    employers = {
        ccy: [gen.external(ccy, name) for name in names] for ccy, names in EMPLOYERS.items()
    }
    merchants = {
        ccy: [gen.external(ccy, name) for name in names] for ccy, names in MERCHANTS.items()
    }
    utilities = {
        ccy: [gen.external(ccy, name) for name in names] for ccy, names in UTILITIES.items()
    }
    landlords = {
        ccy: [gen.external(ccy, name) for name in names] for ccy, names in LANDLORDS.items()
    }
    emitted = 0

    def pay(message: dict[str, Any]) -> PlanItem:
        nonlocal emitted
        emitted += 1
        return ("pay", message)

    # Two months of salary for everyone (money in from outside: the clearing account pays).
    for month in (2, 1):
        for customer in customers:
            if emitted >= budget:
                return
            ccy = customer.currency
            employer = rng.choice(employers[ccy])
            yield pay(
                _message(
                    gen,
                    "SAL",
                    "SEPA",
                    employer,
                    customer,
                    gen.amount(2400, 6800, ccy),
                    ccy,
                    f"Salary {month} month(s) ago",
                    days_back=month * 30,
                )
            )

    # A few customers receive a large sum (inheritance, house sale) so reviews can happen.
    wealthy = rng.sample(customers, k=min(4, len(customers)))
    for customer in wealthy:
        if emitted >= budget:
            return
        ccy = customer.currency
        yield pay(
            _message(
                gen,
                "BIG",
                "SEPA",
                gen.external(ccy, "Notariat Dr. Weiss"),
                customer,
                gen.amount(30000, 45000, ccy),
                ccy,
                "Property sale proceeds",
            )
        )

    # Exceptions, spread through the everyday payments below.
    frozen = [c for c in customers if c not in wealthy][:2]
    specials: list[PlanItem] = []
    for customer in frozen:
        specials.append(("freeze", customer))
        specials.append(
            pay(
                _message(
                    gen,
                    "FRZ",
                    "ONLINE",
                    customer,
                    rng.choice(merchants[customer.currency]),
                    gen.amount(20, 90, customer.currency),
                    customer.currency,
                    "Order after freeze",
                )
            )
        )
    for _ in range(3):  # neither side is ours
        a, b = gen.external("EUR", "Unknown Sender"), gen.external("EUR", "Unknown Receiver")
        specials.append(pay(_message(gen, "UNK", "SEPA", a, b, "49.90", "EUR", "Misrouted")))
    for customer in wealthy[:2]:  # screening declines: above the decline limit
        ccy = customer.currency
        specials.append(
            pay(
                _message(
                    gen,
                    "DCL",
                    "ONLINE",
                    customer,
                    gen.external(ccy, "Offshore Holdings Ltd"),
                    gen.amount(60000, 80000, ccy),
                    ccy,
                    "Investment",
                )
            )
        )
    for customer in wealthy:  # held for review: above the review limit, below decline
        ccy = customer.currency
        specials.append(
            pay(
                _message(
                    gen,
                    "REV",
                    "ONLINE",
                    customer,
                    gen.external(ccy, "Autohaus Schmidt GmbH"),
                    gen.amount(11000, 16000, ccy),
                    ccy,
                    "Car purchase",
                )
            )
        )
    poor = [c for c in customers if c not in wealthy and c not in frozen][:3]
    for customer in poor:  # insufficient funds: more than two salaries and the overdraft
        ccy = customer.currency
        specials.append(
            pay(
                _message(
                    gen,
                    "NSF",
                    "CARD",
                    customer,
                    rng.choice(merchants[ccy]),
                    gen.amount(18000, 24000, ccy),
                    ccy,
                    "Jewellery",
                )
            )
        )
    eur = by_currency.get("EUR", [])
    pln = by_currency.get("PLN", [])
    if eur and pln:  # currency mismatch: EUR to a PLN account
        specials.append(
            pay(_message(gen, "CCY", "MOBILE", eur[0], pln[0], "25.00", "EUR", "Wrong currency"))
        )

    remaining = max(0, budget - emitted)  # the specials are counted in ``emitted`` already
    everyday: list[PlanItem] = []
    payers = [c for c in customers if c not in frozen]  # a frozen account pays nothing
    for _ in range(remaining):
        customer = rng.choice(payers)
        ccy = customer.currency
        roll = rng.random()
        if roll < 0.55:
            merchant = rng.choice(merchants[ccy])
            message = _message(
                gen,
                "CRD",
                "CARD",
                customer,
                merchant,
                gen.amount(3, 120, ccy),
                ccy,
                f"Card payment {merchant.name}",
            )
        elif roll < 0.65:
            utility = rng.choice(utilities[ccy])
            message = _message(
                gen,
                "UTL",
                "SEPA_DD",
                customer,
                utility,
                gen.amount(35, 180, ccy),
                ccy,
                f"Direct debit {utility.name}",
            )
        elif roll < 0.70:
            landlord = rng.choice(landlords[ccy])
            message = _message(
                gen,
                "RNT",
                "SEPA",
                customer,
                landlord,
                gen.amount(550, 1400, ccy),
                ccy,
                "Rent",
            )
        elif roll < 0.92 and len(by_currency[ccy]) > 1:
            other = rng.choice([c for c in by_currency[ccy] if c is not customer])
            message = _message(
                gen,
                "TRF",
                rng.choice(["MOBILE", "ONLINE"]),
                customer,
                other,
                gen.amount(5, 250, ccy),
                ccy,
                rng.choice(["Dinner", "Birthday present", "Shared flat", "Concert tickets"]),
            )
        else:
            message = _message(
                gen,
                "EXT",
                "ONLINE",
                customer,
                gen.external(ccy, f"{rng.choice(FIRST_NAMES['DE'])} Friend"),
                gen.amount(20, 400, ccy),
                ccy,
                "Transfer",
            )
        everyday.append(pay(message))
    # Exceptions go in at random places among the everyday payments, freezes before their
    # payment (their relative order is kept).
    merged: list[PlanItem] = []
    positions = sorted(rng.randint(0, len(everyday)) for _ in specials)
    special_iter = iter(specials)
    cursor = 0
    for position in positions:
        merged.extend(everyday[cursor:position])
        cursor = position
        merged.append(next(special_iter))
    merged.extend(everyday[cursor:])
    yield from merged


DEMO_ADMINS = ("alice", "bob")
DEMO_STAFF: tuple[tuple[str, str, str], ...] = (
    ("olga", "Olga Operator", "operator"),
    ("fred", "Fred Fraud", "fraud_analyst"),
    ("carl", "Carl Compliance", "compliance"),
    ("audrey", "Audrey Auditor", "auditor"),
    ("vic", "Vic Viewer", "viewer"),
    ("rita", "Rita Reconciler", "reconciler"),
)


def _as_user(container: Container, name: str, seed: int, step: str) -> tuple[Causation, Requester]:
    """The causation and requester of backoffice user ``name`` (roles as granted now)."""
    entry = container.identity.lookup(name)
    roles = set(entry.roles) if entry is not None and entry.active else set()
    principal = f"user:{name}"
    causation = Causation(actor=principal, correlation_id=f"demo-{seed}-{step}", channel="CLI")
    return causation, Requester(principal, permissions_of(roles))


def _seed_users(container: Container, seed: int, report: DemoReport) -> None:
    """Two admins by the console bootstrap; every other role by alice's request and bob's
    approval (a re-run finds the roles granted and asks for nothing)."""
    identity = container.identity
    bootstrap = Causation(actor="service:demo", correlation_id=f"demo-{seed}-users", channel="CLI")
    with caused_by(bootstrap):
        for name in DEMO_ADMINS:
            identity.provision_user(name, ["admin"], f"{name.title()} Admin")
    for name, display, role in DEMO_STAFF:
        entry = identity.lookup(name)
        if entry is None:
            causation, alice = _as_user(container, "alice", seed, f"register-{name}")
            with caused_by(causation):
                identity.register_user(name, display, alice)
        elif role in entry.roles:
            report.users.append(name)
            continue
        causation, alice = _as_user(container, "alice", seed, f"grant-{name}")
        try:
            with caused_by(causation):
                request = identity.request_change(
                    ChangeKind.GRANT_ROLE, name, {"role": role}, alice
                )
        except Conflict:
            continue  # already pending from an interrupted run
        causation, bob = _as_user(container, "bob", seed, f"approve-{name}")
        with caused_by(causation):
            identity.approve(request.id, bob)
        report.approved += 1
        report.users.append(name)


def _freeze(container: Container, customer: _Customer, report: DemoReport) -> None:
    """Olga (operator) asks for the freeze, Carl (compliance) approves it."""
    identity = container.identity
    olga_causation, olga = _as_user(container, "olga", 0, f"freeze-{customer.iban}")
    carl_causation, carl = _as_user(container, "carl", 0, f"approve-freeze-{customer.iban}")
    try:
        with caused_by(olga_causation):
            request = identity.request_change(
                ChangeKind.FREEZE_ACCOUNT,
                customer.iban,
                {"reason": "Suspicious activity reported by customer"},
                olga,
            )
        with caused_by(carl_causation):
            done = identity.approve(request.id, carl)
    except ApplicationError:
        return  # already frozen (a re-run of the same seed)
    if done.status.value == "EXECUTED":
        report.frozen.append(customer.iban)
        report.approved += 1


def _leave_one_pending(container: Container, seed: int, report: DemoReport) -> None:
    """Olga asks to lift the first freeze; nobody approves it yet (a checker's queue)."""
    if not report.frozen:
        return
    causation, olga = _as_user(container, "olga", seed, "unfreeze-pending")
    try:
        with caused_by(causation):
            request = container.identity.request_change(
                ChangeKind.UNFREEZE_ACCOUNT,
                report.frozen[0],
                {"reason": "Customer confirmed the payments in branch"},
                olga,
            )
    except ApplicationError:
        return
    report.pending.append(str(request.id))


def _after_booking(
    container: Container,
    gen: _Generator,
    results: dict[str, SubmissionResult],
    report: DemoReport,
) -> None:
    """Review decisions, reversals and settlements on what was booked."""
    ledger = container.ledger
    # Only payments booked by this run: a re-run of the same seed decides nothing again.
    results = {key: r for key, r in results.items() if not r.duplicate}
    held = [r for key, r in sorted(results.items()) if r.status == "HELD" and "-REV-" in key]
    for index, result in enumerate(held):
        tx_id = UUID(result.transaction_id)
        try:
            if index == 0:
                ledger.release_held(tx_id)
                report.released += 1
            elif index == 1:
                ledger.reject_held(tx_id, "Customer could not confirm the payment")
                report.rejected_after_review += 1
        except ApplicationError:
            pass
    cards = [r for key, r in sorted(results.items()) if r.status == "POSTED" and "-CRD-" in key]
    for result in cards[:3]:
        try:
            ledger.reverse(UUID(result.transaction_id), "Duplicate card charge refunded")
            report.reversed += 1
        except ApplicationError:
            pass
    outgoing = [
        r
        for key, r in sorted(results.items())
        if r.status == "POSTED" and ("-UTL-" in key or "-RNT-" in key)
    ]
    for index, result in enumerate(outgoing[: len(outgoing) // 3]):
        try:
            ledger.settle(UUID(result.transaction_id), f"CB-{gen.seed}-{index:05d}")
            report.settled += 1
        except ApplicationError:
            pass
