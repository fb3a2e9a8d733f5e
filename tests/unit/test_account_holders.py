"""Account holder details (issue 15): holder type, further names, identifiers as account
events; old ``Opened`` events and version-1 snapshots without them still replay; the edges'
validation names the field; the CSV import carries them."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from eventsourcing.domain import Snapshot

from api.cli.csv_import import import_accounts
from api.presentation import open_account_command
from api.seed.demo.generator import Generator, lei_for, make_customers
from application.errors import InvalidCommand
from application.ledger.changes import holder_of_params, holder_params
from application.ledger.commands import OpenAccount
from domain.causation import Causation
from domain.errors import AccountStateError, InvalidHolderDetails
from domain.iban import Iban
from domain.ledger.accounts import Account
from domain.ledger.holders import (
    HolderDetails,
    HolderIdentifier,
    HolderType,
    IdentifierScheme,
    holder_details,
    lei_check_digits_valid,
)
from tests.builders import iban

LEI = "529900T8BM49AURSDO55"  # a real LEI (check digits valid)

COMPANY = holder_details(
    "LEGAL",
    ["Weber Bau", "Weber Bau"],  # duplicates dropped
    [("lei", LEI), ("VAT", "DE 123 456 789"), ("NATIONAL", "HRB 12345")],
)


def opened(holder: HolderDetails | None = None) -> Account:
    return Account.open_customer(Iban(iban("DE")), "Weber Bau GmbH", "EUR", Decimal(0), holder)


def replay(events: list[Any]) -> Account:
    account = None
    for event in events:
        account = event.mutate(account)
    assert account is not None
    return account


# -- the value ---------------------------------------------------------------------------


def test_holder_details_are_checked_and_normalised() -> None:
    assert COMPANY.holder_type is HolderType.LEGAL
    assert COMPANY.further_names == ("Weber Bau",)
    assert COMPANY.identifiers == (
        HolderIdentifier(IdentifierScheme.LEI, LEI),
        HolderIdentifier(IdentifierScheme.VAT, "DE 123 456 789"),
        HolderIdentifier(IdentifierScheme.NATIONAL, "HRB 12345"),
    )
    assert holder_details() == HolderDetails()
    assert HolderDetails.of_event(COMPANY.as_event()) == COMPANY
    assert HolderDetails.of_event(None) == HolderDetails()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("COMPANY",), "holderType: NATURAL or LEGAL"),
        (("NATURAL", ["  "]), r"furtherNames\[0\]: must not be blank"),
        (("NATURAL", ["ok", "x" * 141]), r"furtherNames\[1\]: at most 140"),
        (("NATURAL", ["a\x00b"]), r"furtherNames\[0\]: control characters"),
        (("NATURAL", [f"n{i}" for i in range(11)]), "furtherNames: at most 10"),
        (("LEGAL", [], [("DUNS", "1")]), r"identifiers\[0\].scheme: one of LEI, VAT"),
        (("LEGAL", [], [("LEI", "529900T8BM49AURSDO56")]), "check digits are wrong"),
        (("LEGAL", [], [("LEI", "12345")]), "18 letters or digits"),
        (("LEGAL", [], [("VAT", "  ")]), r"identifiers\[0\].value: must not be blank"),
        (("LEGAL", [], [("VAT", "DE<script>")]), r"identifiers\[0\].value: letters, digits"),
        (("NATURAL", [], [("VAT", "DE123")]), "only a LEGAL holder"),
    ],
)
def test_bad_holder_details_name_the_field(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(InvalidHolderDetails, match=message):
        holder_details(*args)


def test_lei_check_digits() -> None:
    assert lei_check_digits_valid(LEI)
    assert not lei_check_digits_valid(LEI[:-1] + "6")
    assert all(lei_check_digits_valid(lei_for(n)) for n in range(50))


# -- the aggregate -----------------------------------------------------------------------


def test_an_account_opens_with_holder_details_and_replays_them() -> None:
    account = opened(COMPANY)
    assert account.holder == COMPANY
    (event,) = account.collect_events()
    assert event.holder == COMPANY.as_event()
    assert replay([event]).holder == COMPANY


def test_an_opened_event_of_an_old_log_without_holder_details_still_replays() -> None:
    account = opened(COMPANY)
    (event,) = account.collect_events()
    del event.__dict__["holder"]  # as stored before holder details existed
    old = replay([event])
    assert old.holder == HolderDetails()  # a natural person, no further names
    assert old.holder_name == "Weber Bau GmbH"
    old.change_holder_details("Weber Bau GmbH", COMPANY, "KYC refresh")
    assert old.holder == COMPANY


def test_a_version_1_snapshot_is_upcast() -> None:
    account = opened()
    account.collect_events()
    snapshot = Snapshot.take(account)
    state = dict(snapshot.state)
    del state["holder_data"]
    state["class_version"] = 1
    object.__setattr__(snapshot, "state", state)
    restored = snapshot.mutate(None)
    assert restored.holder == HolderDetails()
    assert restored.holder_data is None


def test_holder_details_change_is_an_event_and_is_guarded() -> None:
    account = opened()
    account.change_holder_details(" Weber  Bau GmbH ", COMPANY, " register extract ")
    assert account.holder_name == "Weber Bau GmbH"
    events = account.collect_events()
    assert [type(e).__name__ for e in events] == ["Opened", "HolderDetailsChanged"]
    assert events[1].reason == "register extract"
    assert replay(events).holder == COMPANY
    with pytest.raises(AccountStateError, match="already has these"):
        account.change_holder_details("Weber Bau GmbH", COMPANY, "again")
    with pytest.raises(AccountStateError, match="needs a reason"):
        account.change_holder_details("Other", COMPANY, " ")
    with pytest.raises(InvalidHolderDetails, match="holderName: must not be blank"):
        account.change_holder_details("  ", COMPANY, "x")
    account.close("done")
    with pytest.raises(AccountStateError, match="closed"):
        account.change_holder_details("Other", COMPANY, "x")
    internal = Account.open_internal("clearing:EUR")
    with pytest.raises(AccountStateError, match="internal"):
        internal.change_holder_details("x", COMPANY, "x")


# -- the edges ---------------------------------------------------------------------------


def test_open_account_command_carries_holder_details_and_names_bad_fields() -> None:
    command = open_account_command(
        iban("DE"),
        "Weber Bau GmbH",
        "EUR",
        None,
        holder_type="legal",
        further_names=["Weber Bau"],
        identifiers=[("LEI", LEI)],
    )
    assert command.holder.holder_type is HolderType.LEGAL
    assert open_account_command(iban("DE"), "Max", "EUR", None).holder == HolderDetails()
    with pytest.raises(InvalidCommand, match=r"currency: .*; identifiers\[0\].value"):
        open_account_command(
            iban("DE"), "Max", "XXX", None, holder_type="LEGAL", identifiers=[("LEI", "bad")]
        )


def test_request_params_round_trip() -> None:
    params = holder_params("Weber Bau GmbH", COMPANY)
    assert all(isinstance(v, str) for v in params.values())
    assert holder_of_params(params) == ("Weber Bau GmbH", COMPANY)
    with pytest.raises(InvalidCommand, match="furtherNames: not a JSON array"):
        holder_of_params({**params, "furtherNames": "{"})
    with pytest.raises(InvalidCommand, match=r"identifiers\[0\]: an object"):
        holder_of_params({**params, "identifiers": "[1]"})
    with pytest.raises(InvalidCommand, match="holderName: must not be blank"):
        holder_of_params({**params, "holderName": ""})


class RecordingLedger:
    def __init__(self) -> None:
        self.opened: dict[str, OpenAccount] = {}

    def open_account(self, command: OpenAccount) -> Account:
        self.opened[command.iban.value] = command
        return Account.open_customer(
            command.iban, command.holder_name, command.currency, command.overdraft_limit
        )


def test_csv_import_carries_holder_details() -> None:
    company, joint, plain, bad = iban("DE"), iban("DE"), iban("DE"), iban("DE")
    text = (
        "iban,holder_name,currency,holder_type,further_names,identifiers\n"
        f"{company},Weber Bau GmbH,EUR,LEGAL,Weber Bau,LEI:{LEI}|VAT:DE123456789\n"
        f"{joint},John Smith,EUR,,Jane Smith|Smith Consulting,\n"
        f"{plain},Max Muster,EUR,,,\n"
        f"{bad},Max Muster,EUR,NATURAL,,VAT:DE1\n"
    )
    ledger = RecordingLedger()
    report = import_accounts(ledger, io.StringIO(text), Causation())  # type: ignore[arg-type]
    assert report.opened == [company, joint, plain]
    assert ledger.opened[company].holder.identifiers[0].value == LEI
    assert ledger.opened[joint].holder.further_names == ("Jane Smith", "Smith Consulting")
    assert ledger.opened[plain].holder == HolderDetails()
    assert [(e.line, e.message) for e in report.errors] == [
        (5, "identifiers: only a LEGAL holder has organisation identifiers")
    ]


def test_the_demo_customers_carry_holder_details() -> None:
    customers = make_customers(Generator(7), 40)
    kinds = {c.holder_type for c in customers}
    assert kinds == {"NATURAL", "LEGAL"}
    for customer in customers:  # every one passes the validation
        holder_details(customer.holder_type, customer.further_names, customer.identifiers)
    assert any(c.further_names and c.holder_type == "NATURAL" for c in customers)
