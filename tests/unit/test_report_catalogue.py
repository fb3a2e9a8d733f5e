"""The report catalogue's requests: every parameter is parsed to one typed value or refused
with an error naming it; the canonical form does not depend on the client's spelling; the
as-of instant and the period are bounded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.errors import NotFound
from application.reports.catalogue import REPORTS, request, spec_of
from application.reports.parameters import ReportParameterError

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


def refused(name: str, raw: dict[str, str], as_of: datetime | None = NOW) -> str:
    with pytest.raises(ReportParameterError) as error:
        request(name, raw, as_of, NOW)
    assert str(error.value).startswith(f"{error.value.parameter}: ")
    return error.value.parameter


def test_values_are_typed_and_canonical() -> None:
    wanted = request(
        "large_value",
        {**PERIOD, "thresholds": " usd=10000 , eur=15000.5", "currency": "eur"},
        NOW,
        NOW,
    )
    assert wanted.params["from"] == date(2026, 11, 1)
    assert wanted.params["thresholds"] == {"EUR": Decimal("15000.5"), "USD": Decimal("10000")}
    assert wanted.params["default_threshold"] == Decimal("10000")
    assert wanted.canonical_params == (
        "currency=EUR;default_threshold=10000;from=2026-11-01;"
        "thresholds=EUR=15000.5,USD=10000;to=2026-11-30"
    )
    journal = request("journal", {**PERIOD, "account": "de89 3704 0044 0532 0130 00"}, NOW, NOW)
    assert journal.params["account"] == "DE89370400440532013000"
    assert (
        request("journal", {**PERIOD, "account": "Clearing:eur"}, NOW, NOW).params["account"]
        == "clearing:EUR"
    )


@pytest.mark.parametrize(
    ("name", "raw", "parameter"),
    [
        ("journal", {"to": "2026-11-30"}, "from"),
        ("journal", {**PERIOD, "from": "2026-02-30"}, "from"),
        ("journal", {**PERIOD, "to": "2026-10-01"}, "to"),
        ("journal", {"from": "2025-01-01", "to": "2026-11-30"}, "to"),
        ("journal", {**PERIOD, "currency": "XYZ"}, "currency"),
        ("journal", {**PERIOD, "min_amount": "-1"}, "min_amount"),
        ("journal", {**PERIOD, "min_amount": "NaN"}, "min_amount"),
        ("journal", {**PERIOD, "min_amount": "1e999999"}, "min_amount"),
        ("journal", {**PERIOD, "channel": "a\x00b"}, "channel"),
        ("journal", {**PERIOD, "account": "DE89 ; DROP"}, "account"),
        ("journal", {**PERIOD, "bogus": "1"}, "bogus"),
        ("large_value", {**PERIOD, "thresholds": "EUR"}, "thresholds"),
        ("large_value", {**PERIOD, "thresholds": "EUR=1,EUR=2"}, "thresholds"),
        ("daily_balances", {"from": "2026-11-01", "to": "2026-12-02"}, "to"),
        ("daily_balances", {"from": "2026-01-01", "to": "2026-11-30"}, "to"),
        ("trial_balance", {"currency": "e" * 100}, "currency"),
    ],
)
def test_a_bad_parameter_is_named(name: str, raw: dict[str, str], parameter: str) -> None:
    assert refused(name, raw) == parameter


def test_as_of_is_required_aware_and_not_in_the_future() -> None:
    assert refused("trial_balance", {}, None) == "asOf"
    assert refused("trial_balance", {}, NOW + timedelta(seconds=1)) == "asOf"
    assert refused("trial_balance", {}, datetime(1800, 1, 1, tzinfo=UTC)) == "asOf"
    assert request("trial_balance", {}, NOW, NOW).as_of == NOW


def test_an_unknown_report_is_not_found() -> None:
    with pytest.raises(NotFound, match="no report named"):
        spec_of("balance_sheet")
    assert spec_of("Trial-Balance") is REPORTS["trial_balance"]


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=80), max_size=6))
def test_any_client_input_is_a_request_or_a_named_refusal(raw: dict[str, str]) -> None:
    for name in REPORTS:
        try:
            wanted = request(name, raw, NOW, NOW)
        except ReportParameterError as error:
            assert error.parameter
        else:
            assert set(wanted.params) == {p.name for p in wanted.spec.parameters}
