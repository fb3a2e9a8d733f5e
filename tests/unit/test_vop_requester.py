"""The requester side's pure parts: the routes of ``LEDGER_VOP_ROUTES``, reading another
PSP's answer, turning it into our decision, the payment's ``vopCheckId`` and the fraud
screening's VoP hits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.vop.peers import parse_answer
from adapters.vop.routes import parse_routes, plain_http_hosts
from api.runtime.settings import Settings
from api.runtime.settings.base import SettingsError
from application.errors import InvalidCommand
from application.fraud.payee import payee_check_hits
from application.fraud.ports import PayeeCheck
from application.ports import ScreeningRequest
from application.vop.ports import PeerAnswer
from application.vop.requester import peer_decision
from domain.vop.checks import NoapReason
from domain.vop.outcomes import Outcome
from tests.builders import iban, payment

NL = iban("NL")  # ABN AMRO (bank code ABNA)
DE = iban("DE")  # bank code 37040044


def test_routes_by_the_longest_iban_prefix_then_by_bic() -> None:
    routes = parse_routes(
        "iban:NL=https://nl.example/, iban:NLABNA=https://abn.example "
        "bic:COBADEFF=http://coba:8080/vop bic:BNPAFRPPXXX=https://bnp.example"
    )
    assert routes.route(NL) == "https://abn.example"  # longest prefix
    assert routes.route(iban("NL", 7)[:4] + "RABO0123456789") == "https://nl.example"
    assert routes.route(DE) is None
    assert routes.route(DE, "COBADEFFXXX") == "http://coba:8080/vop"  # a branch of COBADEFF
    assert routes.route(DE, "COBADEFF123") == "http://coba:8080/vop"
    assert routes.route(iban("FR"), "BNPAFRPP") == "https://bnp.example"  # XXX: head office
    assert not parse_routes("none") and not parse_routes("")


def test_an_iban_route_wins_and_a_bic_routes_only_its_own_country() -> None:
    routes = parse_routes("iban:NLABNA=https://abn.example bic:COBADEFF=https://coba.example")
    assert routes.route(NL, "COBADEFF") == "https://abn.example"  # the app's BIC cannot divert
    assert routes.route(iban("NL", 7)[:4] + "RABO0123456789", "COBADEFF") is None  # not DE
    assert routes.route(DE, "COBADEFF") == "https://coba.example"


def test_an_iban_prefix_that_looks_like_a_bic_is_an_iban_prefix() -> None:
    routes = parse_routes("iban:GBNWBK60=https://natwest.example")
    gb = "GB29NWBK60161331926819"
    assert routes.route(gb) == "https://natwest.example"
    assert not routes.by_bic


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("iban:NLABNA", "must look like KIND:KEY=https://host"),
        ("NLABNA=https://x", "write bic:BIC=URL or iban:PREFIX=URL"),
        ("swift:COBADEFF=https://x", "write bic:BIC=URL or iban:PREFIX=URL"),
        ("iban:NLABNA=ftp://x", "iban:NLABNA: must be a URL"),
        ("iban:NLABNA=https://", "iban:NLABNA: must be a URL"),
        ("iban:12AB=https://x", "not an IBAN prefix"),
        ("bic:NLABNA=https://x", "not a BIC"),
        ("iban:NLABNA=https://a,iban:nlabna=https://b", "iban:NLABNA is routed twice"),
        ("bic:COBADEFF=https://a bic:COBADEFFXXX=https://b", "bic:COBADEFF is routed twice"),
        ("iban:NL=https://x?key=1", "must not have a query or a fragment"),
        ("iban:NL=https://x/#top", "must not have a query or a fragment"),
    ],
)
def test_bad_routes_are_named(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_routes(text)


def test_credentials_in_a_route_are_refused_without_being_repeated() -> None:
    with pytest.raises(ValueError) as refused:
        parse_routes("iban:NL=https://alice:s3cret@vop.example")
    assert "must not carry user information" in str(refused.value)
    assert "s3cret" not in str(refused.value)


def test_plain_http_hosts_other_than_the_loopback_are_named() -> None:
    routes = parse_routes(
        "iban:NL=http://127.0.0.1:8080 iban:DE=http://localhost bic:COBADEFF=http://[::1]:9 "
        "iban:FR=https://bnp.example iban:ES=http://vop.caixa.example"
    )
    assert plain_http_hosts(routes) == ["vop.caixa.example"]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"partyNameMatch": "MTCH", "vopCheckId": "x"}, PeerAnswer("MTCH")),
        ({"partyIdMatch": "NMTC"}, PeerAnswer("NMTC")),
        (
            {"partyNameMatch": "CMTC", "matchedName": " Jan  de Vries "},
            PeerAnswer("CMTC", matched_name="Jan de Vries"),
        ),
        (
            {"partyNameMatch": "NOAP", "reason": "ACCOUNT_CLOSED"},
            PeerAnswer("NOAP", reason="ACCOUNT_CLOSED"),
        ),
        ({"partyNameMatch": "CMTC"}, None),  # a close match must name the holder
        ({"partyNameMatch": "CMTC", "matchedName": "a\x00b"}, None),
        ({"partyNameMatch": "CMTC", "matchedName": "Jan \u202eseirV"}, None),  # bidi override
        ({"partyNameMatch": ["MTCH"]}, None),
        ({"partyNameMatch": "CMTC", "matchedName": "x" * 141}, None),
        ({"partyNameMatch": "YES"}, None),
        ([], None),
        ("MTCH", None),
    ],
)
def test_another_psps_answer_is_checked(doc: object, expected: PeerAnswer | None) -> None:
    assert parse_answer(doc) == expected


def test_another_psps_answer_becomes_our_decision() -> None:
    assert peer_decision(None).reason is NoapReason.PSP_UNAVAILABLE
    close = peer_decision(PeerAnswer("CMTC", matched_name="Jan de Vries"))
    assert (close.outcome, close.disclosed_name) == (Outcome.CLOSE_MATCH, "Jan de Vries")
    assert peer_decision(PeerAnswer("MTCH", matched_name="ignored")).disclosed_name is None
    closed = peer_decision(PeerAnswer("NOAP", reason="ACCOUNT_CLOSED"))
    assert closed.reason is NoapReason.ACCOUNT_CLOSED
    for odd in (None, "SOMETHING_ELSE", "PSP_UNAVAILABLE"):
        decided = peer_decision(PeerAnswer("NOAP", reason=odd))
        assert decided.reason is NoapReason.PSP_UNAVAILABLE


CHECK = "8d1e4c52-2f0b-5f43-9d8e-0c4b1f7a6e21"


def test_a_payment_carries_a_check_id_or_a_problem_naming_the_field() -> None:
    assert payment().vop_check_id is None
    assert payment(vopCheckId=CHECK.upper()).vop_check_id == CHECK  # canonical form
    assert payment(vopCheckId=None).vop_check_id is None
    for bad, problem in (
        ("check-42", "vopCheckId: must be a UUID"),
        (42, "vopCheckId: must be a UUID string"),
        ("0" * 100, "vopCheckId: must be a UUID"),
    ):
        with pytest.raises(InvalidCommand) as refused:
            payment(vopCheckId=bad)
        assert refused.value.problems == [problem]


class Checks:
    def __init__(self, known: dict[str, PayeeCheck], *, broken: bool = False) -> None:
        self.known = known
        self.broken = broken

    def payee_check(self, check_id: str) -> PayeeCheck | None:
        if self.broken:
            raise OSError("read model unreachable")
        return self.known.get(check_id)


def screening_request(creditor: str, check: str | None) -> ScreeningRequest:
    return ScreeningRequest(
        transaction_id="t",
        channel="MOBILE",
        amount=Decimal("10.00"),
        currency="EUR",
        debtor_iban=DE,
        creditor_iban=creditor,
        debtor_is_ours=True,
        creditor_is_ours=False,
        debtor_outflow_today=Decimal(0),
        requested_at=None,
        vop_check_id=check,
    )


@pytest.mark.parametrize(
    ("outcome", "hits"),
    [
        ("MTCH", []),
        ("CMTC", ["vop-close-match"]),
        ("NMTC", ["vop-no-match"]),
        ("NOAP", ["vop-not-applicable"]),
    ],
)
def test_the_checks_outcome_is_a_screening_hit(outcome: str, hits: list[str]) -> None:
    checks = Checks({CHECK: PayeeCheck(outcome, NL)})
    assert payee_check_hits(checks, screening_request(NL, CHECK)) == hits


def test_an_unknown_unreadable_or_misdirected_check_is_a_hit_not_a_stall() -> None:
    checks = Checks({CHECK: PayeeCheck("MTCH", NL)})
    assert payee_check_hits(checks, screening_request(NL, None)) == []
    assert payee_check_hits(None, screening_request(NL, CHECK)) == []
    assert payee_check_hits(checks, screening_request(NL, "other")) == ["vop-check-unknown"]
    assert payee_check_hits(checks, screening_request(DE, CHECK)) == ["vop-check-other-payee"]
    broken = Checks({}, broken=True)
    assert payee_check_hits(broken, screening_request(NL, CHECK)) == ["vop-check-unknown"]


def test_a_check_not_of_our_payer_or_of_another_payer_is_a_hit() -> None:
    theirs = PayeeCheck("MTCH", NL, direction="RESPONDER", requester="BNPAFRPPXXX")
    assert payee_check_hits(Checks({CHECK: theirs}), screening_request(NL, CHECK)) == [
        "vop-check-unknown"  # another PSP's question to us is not our payer's check
    ]
    other = PayeeCheck("CMTC", NL, requester="service:mobile", payer_iban=iban("FR", 9))
    assert payee_check_hits(Checks({CHECK: other}), screening_request(NL, CHECK)) == [
        "vop-check-other-payer",
        "vop-close-match",
    ]
    mine = PayeeCheck("MTCH", NL, requester="service:mobile", payer_iban=DE)
    assert payee_check_hits(Checks({CHECK: mine}), screening_request(NL, CHECK)) == []


def test_settings_refuse_the_token_over_plain_http_and_credentials_in_a_route() -> None:
    base = {"LEDGER_VOP_BIC": "LEDGDEFF", "LEDGER_VOP_PEER_TOKEN": "t0ken"}
    with pytest.raises(SettingsError) as clear:
        Settings.from_env({**base, "LEDGER_VOP_ROUTES": "iban:NL=http://vop.example"})
    assert "LEDGER_VOP_PEER_TOKEN" in str(clear.value) and "vop.example" in str(clear.value)
    loopback = Settings.from_env({**base, "LEDGER_VOP_ROUTES": "iban:NL=http://127.0.0.1:81"})
    assert loopback.vop.routes.route(NL) == "http://127.0.0.1:81"
    with pytest.raises(SettingsError) as userinfo:
        Settings.from_env({**base, "LEDGER_VOP_ROUTES": "iban:NL=https://a:s3cret@vop.example"})
    assert "LEDGER_VOP_ROUTES" in str(userinfo.value) and "s3cret" not in str(userinfo.value)
