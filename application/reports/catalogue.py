"""The report catalogue: every report the Reporting API offers, by name, with its typed
parameters, its columns and the permission that reads it.

A report is computed *as recorded at* an instant (``asOf``, transaction time); a report by
business date also takes a period (``from``/``to``, dates). :func:`request` validates a
client's request against the catalogue and answers a :class:`ReportRequest` (the parsed
parameters and the as-of instant) or a typed error naming what is wrong: an unknown report
(:class:`UnknownReport`), a parameter (:class:`ReportParameterError`, ``parameter`` names it).
The rows themselves are produced by the read side (``projections/reports``); the files by
the writers (``adapters/reports``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from application.errors import NotFound
from application.input_rules import instant_problem
from application.reports.parameters import (
    Kind,
    Parameter,
    ReportParameterError,
    canonical,
    parse_parameters,
)

MAX_PERIOD_DAYS = 366
"""Days a report by business date may cover in one request (a year): bounds its cost."""
MAX_DAILY_BALANCE_DAYS = 92
"""Days of a daily-balances report (a quarter): its rows are accounts times days."""
REPORTS_READ = "reports:read"
"""The permission the financial reports need (customer statements need ``accounts:read``,
the access review will need ``users:read``)."""
ACCOUNTS_READ = "accounts:read"
USERS_READ = "users:read"
FILE_FORMATS = ("csv", "xlsx", "pdf")
"""The formats every report is written in; a report may add its own (``camt053``)."""


class UnknownReport(NotFound):
    """No report of that name is in the catalogue."""

    def __init__(self, name: str) -> None:
        super().__init__(f"report: no report named {name!r} (known: {', '.join(REPORTS)})")
        self.name = name


@dataclass(frozen=True)
class Column:
    """One column of a report's rows: its name and kind (text, amount, date, datetime, int)."""

    name: str
    kind: str = "text"


@dataclass(frozen=True)
class ReportSpec:
    name: str
    title: str
    description: str
    parameters: tuple[Parameter, ...]
    columns: tuple[Column, ...]
    permission: str = REPORTS_READ
    by_date: bool = False
    """Whether the report covers a period of business dates (``from``/``to``)."""
    max_days: int = MAX_PERIOD_DAYS
    formats: tuple[str, ...] = FILE_FORMATS


@dataclass(frozen=True)
class ReportRequest:
    """A validated request: the report, its parsed parameters and the as-of instant (UTC)."""

    spec: ReportSpec
    params: dict[str, Any]
    as_of: datetime

    @property
    def canonical_params(self) -> str:
        return canonical(self.params)


_FROM = Parameter("from", Kind.DATE, "first business date of the period", required=True)
_TO = Parameter("to", Kind.DATE, "last business date of the period (inclusive)", required=True)
_ACCOUNT = Parameter("account", Kind.ACCOUNT, "only this account (IBAN or internal code)")
_CURRENCY = Parameter("currency", Kind.CURRENCY, "only this currency")

TRIAL_BALANCE = ReportSpec(
    name="trial_balance",
    title="Trial balance",
    description="Every account's debits, credits and balance as of T, per currency, each "
    "currency closed by a TOTAL row whose balance must be zero (double entry).",
    parameters=(_CURRENCY,),
    columns=(
        Column("currency"),
        Column("row"),
        Column("account"),
        Column("type"),
        Column("debits", "amount"),
        Column("credits", "amount"),
        Column("balance", "amount"),
        Column("check"),
    ),
)
DAILY_BALANCES = ReportSpec(
    name="daily_balances",
    title="Daily balances",
    description="Each account's opening balance, debits, credits and closing balance for "
    "every business date of the period, as recorded at T.",
    parameters=(_FROM, _TO, _ACCOUNT, _CURRENCY),
    columns=(
        Column("account"),
        Column("currency"),
        Column("date", "date"),
        Column("opening", "amount"),
        Column("debits", "amount"),
        Column("credits", "amount"),
        Column("closing", "amount"),
    ),
    by_date=True,
    max_days=MAX_DAILY_BALANCE_DAYS,
)
JOURNAL = ReportSpec(
    name="journal",
    title="Transaction journal",
    description="Every posting booked in the period and recorded by T, in recording order, "
    "with its transaction's channel, external id and reference.",
    parameters=(
        _FROM,
        _TO,
        _ACCOUNT,
        _CURRENCY,
        Parameter("channel", Kind.TEXT, "only transactions of this channel"),
        Parameter("min_amount", Kind.AMOUNT, "only postings of at least this amount (absolute)"),
    ),
    columns=(
        Column("recorded_at", "datetime"),
        Column("booking_date", "date"),
        Column("transaction_id"),
        Column("account"),
        Column("currency"),
        Column("amount", "amount"),
        Column("balance_after", "amount"),
        Column("channel"),
        Column("external_id"),
        Column("reference"),
    ),
    by_date=True,
)
LARGE_VALUE = ReportSpec(
    name="large_value",
    title="Large-value transactions",
    description="Transactions received in the period (by T) above a per-currency threshold "
    "(currency-transaction-report style), with their status as of T.",
    parameters=(
        _FROM,
        _TO,
        Parameter("thresholds", Kind.THRESHOLDS, "per currency, e.g. USD=10000,EUR=15000"),
        Parameter(
            "default_threshold", Kind.AMOUNT, "for currencies not in thresholds", default="10000"
        ),
        _CURRENCY,
    ),
    columns=(
        Column("received_at", "datetime"),
        Column("transaction_id"),
        Column("channel"),
        Column("external_id"),
        Column("currency"),
        Column("amount", "amount"),
        Column("threshold", "amount"),
        Column("status"),
        Column("debtor_iban"),
        Column("debtor_name"),
        Column("creditor_iban"),
        Column("creditor_name"),
        Column("reference"),
    ),
    by_date=True,
)

CUSTOMER_STATEMENT = ReportSpec(
    name="customer_statement",
    title="Customer account statement",
    description="One account's opening (OPBD) and closing (CLBD) booked balances and every "
    "entry booked in the period, as recorded at T; as camt.053.001.08, the format the "
    "reconciliation reads.",
    parameters=(
        Parameter("account", Kind.ACCOUNT, "the account (IBAN or internal code)", required=True),
        _FROM,
        _TO,
    ),
    columns=(
        Column("row"),
        Column("account"),
        Column("holder"),
        Column("currency"),
        Column("booking_date", "date"),
        Column("recorded_at", "datetime"),
        Column("transaction_id"),
        Column("amount", "amount"),
        Column("balance", "amount"),
        Column("external_id"),
        Column("reference"),
    ),
    permission=ACCOUNTS_READ,
    by_date=True,
    formats=(*FILE_FORMATS, "camt053"),
)

ACCESS_REVIEW = ReportSpec(
    name="access_review",
    title="Access review",
    description="Who held which backoffice role as of T (since when, granted by whom, on "
    "which maker-checker request), then every access change and change-request decision "
    "recorded in the period.",
    parameters=(_FROM, _TO),
    columns=(
        Column("section"),
        Column("at", "datetime"),
        Column("user"),
        Column("role"),
        Column("event"),
        Column("actor"),
        Column("request_id"),
        Column("detail"),
    ),
    permission=USERS_READ,
    by_date=True,
)

REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        TRIAL_BALANCE,
        DAILY_BALANCES,
        JOURNAL,
        LARGE_VALUE,
        CUSTOMER_STATEMENT,
        ACCESS_REVIEW,
    )
}
"""The catalogue, by report name."""


def spec_of(name: str) -> ReportSpec:
    """The report named ``name``, or :class:`UnknownReport`."""
    spec = REPORTS.get(name.strip().lower().replace("-", "_"))
    if spec is None:
        raise UnknownReport(name)
    return spec


def request(
    name: str, raw: Mapping[str, str], as_of: datetime | None, now: datetime
) -> ReportRequest:
    """A validated report request; ``now`` (the clock) bounds ``as_of``: a report as of a
    future instant could change after it is produced, so it is refused."""
    spec = spec_of(name)
    if as_of is None:
        raise ReportParameterError("asOf", "is required (an instant with a time zone)")
    problem = instant_problem(as_of, "asOf")
    if problem is not None:
        raise ReportParameterError("asOf", problem.removeprefix("asOf: "))
    moment = as_of.astimezone(UTC)
    if moment > now:
        raise ReportParameterError("asOf", f"{moment.isoformat()} is in the future")
    params = parse_parameters(spec.parameters, raw)
    if spec.by_date:
        _check_period(spec, params["from"], params["to"], moment)
    return ReportRequest(spec, params, moment)


def _check_period(spec: ReportSpec, first: date, last: date, as_of: datetime) -> None:
    if last < first:
        raise ReportParameterError("to", f"{last.isoformat()} is before from")
    days = (last - first).days + 1
    if days > spec.max_days:
        raise ReportParameterError("to", f"the period has {days} days; at most {spec.max_days}")
    if spec in (DAILY_BALANCES, CUSTOMER_STATEMENT) and last > as_of.date():
        raise ReportParameterError(
            "to", f"{last.isoformat()} is after the as-of date {as_of.date().isoformat()}"
        )
