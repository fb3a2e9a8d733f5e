"""The VoP responder without a database: the decision per entry (NOAP reasons before any
matching), the request parser naming fields, the check event's invariants, and the
application in memory (bulk, repeats, conflicts, every check recorded)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from api.http.middleware.ratelimit import RateLimited, RateLimiter
from api.runtime.settings import Settings
from api.runtime.settings.base import SettingsError
from application.errors import Conflict, InvalidCommand
from application.vop.app import VopApplication
from application.vop.ports import DirectoryEntry
from application.vop.requests import EntryFields, parse_request
from application.vop.responder import VopEntry, VopRequest, decide
from domain.vop.checks import NoapReason, VopCheck
from domain.vop.outcomes import Outcome, Rule
from tests.builders import iban

LEI = "529900T8BM49AURSDO55"
PERSON = DirectoryEntry(iban("DE", 1), "NATURAL", "John Smith", ("Jane Smith",), (), "OPEN")
COMPANY = DirectoryEntry(
    iban("DE", 2), "LEGAL", "Müller Bau GmbH", ("Müller Bau",), (("LEI", LEI),), "OPEN"
)
CLOSED = DirectoryEntry(iban("DE", 3), "NATURAL", "Max Muster", (), (), "CLOSED")
NAMELESS = DirectoryEntry(iban("DE", 4), "LEGAL", "GmbH", (), (), "OPEN")
AT = datetime(2026, 12, 7, 10, 15, tzinfo=UTC)


# -- decide ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "entry", "outcome", "reason", "disclosed"),
    [
        (PERSON, VopEntry(PERSON.iban, "John Smith"), Outcome.MATCH, None, None),
        (PERSON, VopEntry(PERSON.iban, "Jane Smith"), Outcome.MATCH, None, None),
        (PERSON, VopEntry(PERSON.iban, "J. Smith"), Outcome.CLOSE_MATCH, None, "John Smith"),
        (PERSON, VopEntry(PERSON.iban, "Peter Miller"), Outcome.NO_MATCH, None, None),
        (PERSON, VopEntry(PERSON.iban, None, ("LEI", LEI)), Outcome.NOT_APPLICABLE, "I", None),
        (COMPANY, VopEntry(COMPANY.iban, None, ("LEI", LEI)), Outcome.MATCH, None, None),
        (COMPANY, VopEntry(COMPANY.iban, None, ("VAT", "DE1")), Outcome.NOT_APPLICABLE, "I", None),
        (COMPANY, VopEntry(COMPANY.iban, "Mueller Bau AG"), Outcome.MATCH, None, None),
        (None, VopEntry(iban("DE", 9), "John Smith"), Outcome.NOT_APPLICABLE, "U", None),
        (CLOSED, VopEntry(CLOSED.iban, "Max Muster"), Outcome.NOT_APPLICABLE, "C", None),
    ],
)
def test_decide(
    account: DirectoryEntry | None,
    entry: VopEntry,
    outcome: Outcome,
    reason: str | None,
    disclosed: str | None,
) -> None:
    reasons = {
        "U": NoapReason.ACCOUNT_UNKNOWN,
        "C": NoapReason.ACCOUNT_CLOSED,
        "N": NoapReason.NO_NAME_DATA,
        "I": NoapReason.NO_IDENTIFIER_DATA,
    }
    decision = decide(entry, account)
    assert decision.outcome is outcome
    assert decision.reason is (reasons[reason] if reason else None)
    assert decision.disclosed_name == disclosed


def test_unknown_and_closed_accounts_say_nothing_more_than_noap() -> None:
    unknown = decide(VopEntry(iban("DE", 9), "John Smith"), None)
    closed = decide(VopEntry(CLOSED.iban, "Max Muster"), CLOSED)
    for decision in (unknown, closed):
        assert (decision.score, decision.rule, decision.disclosed_name) == (0.0, None, None)
    assert decide(VopEntry(PERSON.iban, "John Smith"), PERSON).rule is Rule.EXACT


# -- parse_request ------------------------------------------------------------------------


def test_parse_request_checks_every_field() -> None:
    request = parse_request(
        str(uuid.UUID(int=1)),
        "2026-12-07T11:15:00+01:00",
        "bankfrppxxx",
        [EntryFields(iban=iban("DE", 1).lower(), name="  John   Smith ")],
    )
    assert request.requester == "BANKFRPPXXX"
    assert request.requested_at == AT
    assert request.entries == (VopEntry(iban("DE", 1), "John Smith"),)
    with pytest.raises(InvalidCommand) as caught:
        parse_request(
            "x",
            "2026-12-07",
            "B",
            [
                EntryFields(iban="nope", name="a", prefix="entries[0]."),
                EntryFields(iban=iban("DE", 1), name="a", lei=LEI, prefix="entries[1]."),
                EntryFields(iban=iban("DE", 1), other_id="1", other_scheme="DUNS", prefix="e."),
            ],
            max_entries=2,
        )
    problems = caught.value.problems
    assert problems[0] == "X-Request-ID: must be a UUID"
    assert problems[1].startswith("X-Request-Timestamp: must carry a time zone")
    assert problems[2].startswith("requestingAgent.financialInstitutionId.bicfi: not a BIC")
    assert problems[3] == "entries: at most 2"
    assert problems[4].startswith("entries[0].partyAccount.iban: ")
    assert problems[5] == "entries[1].party: a name or an identifier, not both"
    with pytest.raises(InvalidCommand, match=r"other.schemeName: one of VAT, NATIONAL"):
        parse_request(
            str(uuid.uuid4()),
            "2026-12-07T10:00:00Z",
            "BANKFRPP",
            [EntryFields(iban=iban("DE", 1), other_id="1", other_scheme="DUNS")],
        )


# -- the event ---------------------------------------------------------------------------


def facts(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "direction": "RESPONDER",
        "requester": "BANKFRPPXXX",
        "request_id": "r-1",
        "entry": 0,
        "requested_at": AT,
        "received_at": AT,
        "iban": PERSON.iban,
        "requested_name": "J. Smith",
        "requested_identifier": None,
        "outcome": "CMTC",
        "reason": None,
        "disclosed_name": "John Smith",
        "score": 95.6,
        "rule": "initials",
        "latency_us": 120,
    }
    return {**base, **changes}


def test_a_check_is_one_event_with_a_deterministic_id() -> None:
    check = VopCheck.answered(**facts())
    assert [type(e).__name__ for e in check.collect_events()] == ["Answered"]
    assert check.id == VopCheck.answered(**facts(requested_name="x")).id
    assert check.id != VopCheck.answered(**facts(entry=1)).id
    assert check.same_question(PERSON.iban, "J. Smith", None)
    assert not check.same_question(PERSON.iban, "Jane Smith", None)
    with pytest.raises(ValueError, match="NOAP answer has a reason"):
        VopCheck.answered(**facts(outcome="NOAP", disclosed_name=None))
    with pytest.raises(ValueError, match="close match only"):
        VopCheck.answered(**facts(outcome="MTCH"))


# -- the application in memory ------------------------------------------------------------


class Directory:
    def __init__(self, *entries: DirectoryEntry) -> None:
        self.by_iban = {e.iban: e for e in entries}
        self.asked: list[set[str]] = []

    def entries(self, ibans: Collection[str]) -> dict[str, DirectoryEntry]:
        self.asked.append(set(ibans))
        return {i: self.by_iban[i] for i in ibans if i in self.by_iban}


def request(*entries: VopEntry, request_id: str = "r-1") -> VopRequest:
    return VopRequest(request_id, "BANKFRPPXXX", AT, entries)


def test_the_application_answers_records_and_repeats() -> None:
    directory = Directory(PERSON, COMPANY)
    app = VopApplication(directory=directory, clock=lambda: AT)
    bulk = request(
        VopEntry(PERSON.iban, "J. Smith"),
        VopEntry(iban("DE", 9), "Nobody"),
        VopEntry(COMPANY.iban, None, ("LEI", LEI)),
    )
    answers = app.respond(bulk)
    assert [(a.entry, a.outcome.value, a.disclosed_name) for a in answers] == [
        (0, "CMTC", "John Smith"),
        (1, "NOAP", None),
        (2, "MTCH", None),
    ]
    assert answers[2].asked_by_identifier
    assert directory.asked == [{PERSON.iban, iban("DE", 9), COMPANY.iban}]  # one lookup
    assert app.recorder.max_notification_id() == 3
    again = app.respond(bulk)  # a repeat: the recorded answers, nothing new
    assert again == [replace(a, repeated=True) for a in answers]
    assert app.recorder.max_notification_id() == 3
    with pytest.raises(Conflict, match="used before for another check"):
        app.respond(request(VopEntry(PERSON.iban, "Someone Else")))
    recorded = app.get_check(uuid.UUID(answers[1].check_id))
    assert recorded.reason is NoapReason.ACCOUNT_UNKNOWN
    assert recorded.requested_name == "Nobody"


def test_a_limiter_takes_a_cost() -> None:
    now = [0.0]
    limiter = RateLimiter(1.0, 5, clock=lambda: now[0])
    limiter.check("psp", cost=4)
    with pytest.raises(RateLimited):
        limiter.check("psp", cost=2)
    limiter.check("psp", cost=1)
    now[0] = 3.0
    limiter.check("psp", cost=3)
    with pytest.raises(ValueError, match="cost must be 1 to 5"):
        limiter.check("psp", cost=6)


def test_a_burst_below_the_bulk_size_is_refused_at_startup() -> None:
    """Each entry of a bulk request takes a token of the PSP's bucket: a burst smaller than
    the bulk size would undercount (or refuse every full bulk request)."""
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(
            {"LEDGER_VOP_BULK_MAX_ENTRIES": "300", "LEDGER_VOP_RATE_LIMIT_BURST": "200"}
        )
    assert "LEDGER_VOP_RATE_LIMIT_BURST" in str(refused.value)
    assert "LEDGER_VOP_BULK_MAX_ENTRIES (300)" in str(refused.value)
    for off in ({"LEDGER_VOP_RATE_LIMIT_BURST": "0"}, {"LEDGER_VOP_RATE_LIMIT_PER_SECOND": "0"}):
        settings = Settings.from_env({"LEDGER_VOP_BULK_MAX_ENTRIES": "300", **off})
        assert settings.vop.bulk_max_entries == 300 and not settings.vop.rate_limited
    fits = Settings.from_env(
        {"LEDGER_VOP_BULK_MAX_ENTRIES": "300", "LEDGER_VOP_RATE_LIMIT_BURST": "300"}
    )
    assert fits.vop.rate_limit_burst == 300
