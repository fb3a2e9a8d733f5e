"""The payments the demo books, in order: salaries and large sums first, then everyday life
with the exceptions (freezes, unknown accounts, declines, reviews, insufficient funds, a
currency mismatch) at random places among it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from api.seed.demo.catalogue import EMPLOYERS, FIRST_NAMES, LANDLORDS, MERCHANTS, UTILITIES
from api.seed.demo.generator import Customer, Generator, payment_message

PlanItem = tuple[str, Any]


def plan_payments(
    gen: Generator,
    customers: list[Customer],
    by_currency: dict[str, list[Customer]],
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
                payment_message(
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
            payment_message(
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
                payment_message(
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
        specials.append(pay(payment_message(gen, "UNK", "SEPA", a, b, "49.90", "EUR", "Misrouted")))
    for customer in wealthy[:2]:  # screening declines: above the decline limit
        ccy = customer.currency
        specials.append(
            pay(
                payment_message(
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
                payment_message(
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
                payment_message(
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
            pay(
                payment_message(
                    gen, "CCY", "MOBILE", eur[0], pln[0], "25.00", "EUR", "Wrong currency"
                )
            )
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
            message = payment_message(
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
            message = payment_message(
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
            message = payment_message(
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
            message = payment_message(
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
            message = payment_message(
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
