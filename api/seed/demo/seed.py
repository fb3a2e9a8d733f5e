"""The demo's entry point: :func:`seed_demo` opens the accounts, books the planned payments in
batches through ``submit_payments`` (one commit per batch), then takes the review, reversal
and settlement decisions a backoffice would."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from api.runtime.bootstrap import Container
from api.seed.demo.generator import Customer, Generator, make_customers
from api.seed.demo.plan import plan_payments
from api.seed.demo.report import DemoReport
from api.seed.demo.staff import freeze_account, leave_one_pending, seed_users
from application.errors import AlreadyExists, ApplicationError
from application.ledger.commands import OpenAccount, PaymentInstruction, SubmissionResult
from domain.causation import Causation, caused_by
from domain.iban import Iban
from domain.ledger.holders import holder_details

BATCH_SIZE = 250


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
    gen = Generator(seed)
    report = DemoReport()
    causation = Causation(actor="service:demo", correlation_id=f"demo-{seed}", channel="CLI")
    customers = make_customers(gen, accounts)

    def tell(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    seed_users(container, seed, report)

    with caused_by(causation):
        for index, customer in enumerate(customers, 1):
            command = OpenAccount(
                Iban(customer.iban),
                customer.name,
                customer.currency,
                customer.overdraft,
                holder_details(customer.holder_type, customer.further_names, customer.identifiers),
            )
            try:
                ledger.open_account(command)
                report.accounts_opened += 1
            except AlreadyExists:
                report.accounts_existing += 1
            tell("accounts", index, len(customers))

        by_currency: dict[str, list[Customer]] = {}
        for customer in customers:
            by_currency.setdefault(customer.currency, []).append(customer)

        plan = list(plan_payments(gen, customers, by_currency, transactions))
        results: dict[str, SubmissionResult] = {}
        booked = 0
        for start in range(0, len(plan), BATCH_SIZE):
            chunk = plan[start : start + BATCH_SIZE]
            freeze_before = [item for item in chunk if item[0] == "freeze"]
            for _, customer in freeze_before:
                freeze_account(container, customer, report)
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

    leave_one_pending(container, seed, report)

    for result in results.values():
        final = ledger.get_transaction(UUID(result.transaction_id))
        report.by_status[str(final.status)] += 1
        if final.rejection_reason:
            report.by_reason[final.rejection_reason] += 1
    tell("projections", 0, 1)
    report.events_projected = container.projector.catch_up()
    tell("projections", 1, 1)
    return report


def _after_booking(
    container: Container,
    gen: Generator,
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
