"""IBANs are masked in every log line: real IBANs of many countries, compact or printed, in
any value, in rendered exceptions and stdlib messages; things that are no IBAN stay."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import structlog

from api.runtime.logs import configure_logging, get_logger, mask_ibans
from domain.iban import Iban

# Published example IBANs (each passes schwifty's validation, checked below), shortest (NO,
# 15) to longest here (MT, 31), letters inside the account part included (GB, NL, FR, MT).
REAL_IBANS = {
    "DE89370400440532013000": "DE89**************3000",
    "FR1420041010050500013M02606": "FR14*******************2606",
    "GB82WEST12345698765432": "GB82**************5432",
    "NL91ABNA0417164300": "NL91**********4300",
    "BE68539007547034": "BE68********7034",
    "IT60X0542811101000000123456": "IT60*******************3456",
    "ES9121000418450200051332": "ES91****************1332",
    "CH9300762011623852957": "CH93*************2957",
    "PL61109010140000071219812874": "PL61********************2874",
    "SE4550000000058398257466": "SE45****************7466",
    "NO9386011117947": "NO93*******7947",
    "MT84MALT011000012345MTLCAST001S": "MT84***********************001S",
}

NOT_IBANS = [
    "5e39ccdc-5c25-5e60-9259-8135fbe7fa38",  # a transaction id
    "5e39ccdc5c255e6092598135fbe7fa38",  # the same without dashes
    "ab12ef5c255e6092598135fbe7fa38",  # lower-case hex shaped like an IBAN, bad check digits
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # sha256
    "125.40",
    "-1000000.00",
    "EUR:10000,USD:10000",
    "2026-11-23T10:15:00+00:00",
    "clearing:EUR",
    "MOB-2026-000001",
    "corr-log-1",
    "DE89",
    "DE89 3704 0044",  # too short to be an IBAN
    "Invoice 4711 for order 2026",
]


@pytest.mark.parametrize(("iban", "masked"), REAL_IBANS.items(), ids=list(REAL_IBANS))
def test_real_ibans_are_masked_in_every_form(iban: str, masked: str) -> None:
    assert Iban(iban).value == iban  # a real, valid IBAN
    assert Iban(iban).masked() == masked  # the same mask as the domain's own
    printed = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    assert mask_ibans(iban) == masked
    assert mask_ibans(printed) == masked
    assert mask_ibans(iban.lower()) == masked.lower()[:4] + masked[4:-4] + masked[-4:].lower()
    assert mask_ibans(f"paid from {iban}, thanks") == f"paid from {masked}, thanks"
    assert mask_ibans(f"iban={iban};") == f"iban={masked};"
    assert mask_ibans(f"/v1/accounts/{iban}") == f"/v1/accounts/{masked}"
    assert mask_ibans(f"account_{iban}") == f"account_{masked}"
    assert mask_ibans(f"'{printed}'") == f"'{masked}'"


@pytest.mark.parametrize("text", NOT_IBANS)
def test_what_is_no_iban_is_left_alone(text: str) -> None:
    assert mask_ibans(text) == text


def test_an_invalid_upper_case_iban_is_masked_all_the_same() -> None:
    # The mistyped IBAN in a validation message is still someone's account number.
    assert mask_ibans("invalid IBAN 'DE89370400440532013001'") == (
        "invalid IBAN 'DE89**************3001'"
    )


def test_values_of_every_shape_are_searched() -> None:
    iban = "DE89370400440532013000"
    masked = "DE89**************3000"
    assert mask_ibans({"debtor": {"iban": iban, "amount": 12}, "ok": True}) == {
        "debtor": {"iban": masked, "amount": 12},
        "ok": True,
    }
    assert mask_ibans((iban, None, 1.5)) == [masked, None, 1.5]
    assert mask_ibans({iban}) == [masked]
    assert mask_ibans(Iban(iban)) == masked  # str(Iban) is the IBAN itself
    assert mask_ibans(Decimal("125.40")) == "125.40"


# --------------------------------------------------------------------------- the log output


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = []


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_value_of_a_structlog_line_is_masked(json_logs: io.StringIO) -> None:
    get_logger("test").info(
        "moved money from DE89370400440532013000",
        creditor=Iban("FR1420041010050500013M02606"),
        parties=["GB82WEST12345698765432", {"iban": "NL91ABNA0417164300"}],
        amount=Decimal("125.40"),
    )
    text = json_logs.getvalue()
    for iban in ("DE8937040044053201", "FR14200410100505", "GB82WEST1234569", "NL91ABNA04171"):
        assert iban not in text
    (line,) = lines(json_logs)
    assert line["event"] == "moved money from DE89**************3000"
    assert line["creditor"] == "FR14*******************2606"
    assert line["parties"] == ["GB82**************5432", {"iban": "NL91**********4300"}]
    assert line["amount"] == "125.40"


def test_rendered_exceptions_are_masked(json_logs: io.StringIO) -> None:
    log = get_logger("test")
    try:
        raise ValueError("no account CH9300762011623852957")
    except ValueError:
        log.exception("lookup failed")
    try:
        raise KeyError("be68539007547034")
    except KeyError:
        logging.getLogger("stdlib").exception("stdlib lookup failed for %s", "BE68539007547034")
    text = json_logs.getvalue()
    assert "9300762011623852957" not in text
    assert "539007547034" not in text
    structlog_line, stdlib_line = lines(json_logs)
    assert "ValueError: no account CH93*************2957" in structlog_line["exception"]
    assert stdlib_line["event"] == "stdlib lookup failed for BE68********7034"
    assert "KeyError: 'be68********7034'" in stdlib_line["exception"]


def test_a_lost_broker_connection_is_logged_as_a_warning_without_a_traceback(
    json_logs: io.StringIO,
) -> None:
    """stomp.py logs a broken pipe while sending with a traceback; the consumer handles it
    (reconnects), so the line keeps the error but reads as a warning, not a crash. Any
    other exception keeps its traceback."""
    stomp = logging.getLogger("stomp.py")
    for error in (BrokenPipeError(32, "Broken pipe"), ValueError("a bug")):
        try:
            raise error
        except Exception:
            stomp.error("error sending frame", exc_info=True)
    lost, bug = lines(json_logs)
    assert lost["level"] == "warning" and "exception" not in lost
    assert lost["event"] == "error sending frame: BrokenPipeError: [Errno 32] Broken pipe"
    assert bug["level"] == "error" and "ValueError: a bug" in bug["exception"]
