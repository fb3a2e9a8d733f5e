"""Synthetic but realistic payments for the benchmarks: valid IBANs, cent amounts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal

from schwifty import IBAN

from application.ledger.app import LedgerApplication
from application.ledger.commands import OpenAccount, Party, PaymentInstruction
from domain.iban import Iban
from domain.money import Money

EXTERNAL = Iban("FR1420041010050500013M02606")


def customer_ibans(count: int) -> list[Iban]:
    return [
        Iban(str(IBAN.generate("DE", bank_code="37040044", account_code=f"{i:010d}")))
        for i in range(1, count + 1)
    ]


def open_and_fund(
    app: LedgerApplication, ibans: list[Iban], amount: str = "1000000.00", prefix: str = "FUND"
) -> None:
    """Open the accounts and give each an incoming payment, in batches (keys ``prefix-i``:
    a key may not be reused for another payment)."""
    for iban in ibans:
        app.open_account(OpenAccount(iban, f"Holder {iban.value[-4:]}", "EUR", Decimal("0")))
    funding = [payment(f"{prefix}-{i}", EXTERNAL, iban, amount) for i, iban in enumerate(ibans)]
    for start in range(0, len(funding), 500):
        app.submit_payments(funding[start : start + 500])


def payment(external_id: str, debtor: Iban, creditor: Iban, amount: str) -> PaymentInstruction:
    return PaymentInstruction(
        external_id=external_id,
        channel="BENCH",
        debtor=Party(debtor, "Debtor"),
        creditor=Party(creditor, "Creditor"),
        amount=Money(Decimal(amount), "EUR"),
        reference="benchmark",
    )


def transfers(
    ibans: list[Iban], count: int, prefix: str, seed: int = 7
) -> Iterator[PaymentInstruction]:
    """Internal transfers between random pairs, small cent amounts."""
    rng = random.Random(seed)
    for i in range(count):
        debtor, creditor = rng.sample(ibans, 2)
        cents = rng.randint(100, 20_000)
        yield payment(f"{prefix}-{i}", debtor, creditor, f"{cents // 100}.{cents % 100:02d}")
