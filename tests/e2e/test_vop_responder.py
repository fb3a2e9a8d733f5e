"""The Verification of Payee responder over REST (issue 15, steps 3 and 4): another PSP
(service principal, role ``vop_requester``) asks; every outcome (MTCH, CMTC with the name,
NMTC, NOAP with its reason) for natural and legal persons, joint accounts and trading names;
unknown and closed accounts are NOAP, never an error; bulk requests answered per entry; every
check recorded as an event; a repeated request id answered as recorded; bad input 422 naming
the field; 403 without ``vop:check``; 429 per PSP beyond its rate."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.http.routers.vop import IN_LOOP_MAX_ENTRIES
from api.runtime.bootstrap import Container
from api.runtime.settings import Settings
from api.security import Principal
from domain.vop.checks import VopCheck
from tests.builders import iban
from tests.e2e.conftest import client_as, gql, gql_errors, project

OLGA = Principal("user:olga", frozenset({"operator"}))
PSP = Principal("service:bankfr", frozenset({"vop_requester"}), kind="service")
CHANNEL = Principal("service:mobile", frozenset({"channel"}), kind="service")
LEI = "529900T8BM49AURSDO55"
BIC = "BANKFRPPXXX"


@pytest.fixture
def accounts(container: Container) -> dict[str, str]:
    """Our accounts: a natural person, a joint account with a trading name, a company, a
    closed account."""
    opened = {}
    with client_as(container, OLGA) as olga:
        for key, body in {
            "person": {"holderName": "Laura Mustermann"},
            "joint": {
                "holderName": "John Smith",
                "furtherNames": ["Jane Smith", "Smith Consulting"],
            },
            "company": {
                "holderName": "Müller Bau GmbH",
                "holderType": "LEGAL",
                "identifiers": [{"scheme": "LEI", "value": LEI}],
            },
            "closed": {"holderName": "Max Muster"},
        }.items():
            value = iban("DE")
            response = olga.post("/v1/accounts", json={"iban": value, "currency": "EUR", **body})
            assert response.status_code == 201, response.text
            opened[key] = value
    container.ledger.close_account(opened["closed"], "customer left")
    project(container)
    return opened


def ask(
    client: TestClient,
    account: str,
    name: str | None = None,
    *,
    lei: str | None = None,
    request_id: str | None = None,
    bic: str = BIC,
) -> Any:
    party: dict[str, Any] = {}
    if name is not None:
        party["name"] = name
    if lei is not None:
        party["identification"] = {"organisationId": {"lei": lei}}
    return client.post(
        "/v1/vop/payee-verifications",
        headers={
            "X-Request-ID": request_id or str(uuid.uuid4()),
            "X-Request-Timestamp": "2026-12-07T10:15:00.000Z",
        },
        json={
            "party": party,
            "partyAccount": {"iban": account},
            "partyAgent": {"financialInstitutionId": {"bicfi": "COBADEFFXXX"}},
            "requestingAgent": {"financialInstitutionId": {"bicfi": bic}},
        },
    )


def answer(client: TestClient, account: str, name: str | None = None, **kw: Any) -> Any:
    response = ask(client, account, name, **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    return {k: v for k, v in body.items() if k != "vopCheckId"}


def test_every_outcome_and_every_check_recorded(
    container: Container, accounts: dict[str, str]
) -> None:
    unknown = iban("DE")
    with client_as(container, PSP) as psp:
        assert answer(psp, accounts["person"], "Laura Mustermann") == {"partyNameMatch": "MTCH"}
        assert answer(psp, accounts["person"], "Mustermann Laura") == {"partyNameMatch": "MTCH"}
        assert answer(psp, accounts["person"], "L. Mustermann") == {
            "partyNameMatch": "CMTC",
            "matchedName": "Laura Mustermann",
        }
        assert answer(psp, accounts["person"], "Hans Meier") == {"partyNameMatch": "NMTC"}
        assert answer(psp, accounts["joint"], "Jane Smith") == {"partyNameMatch": "MTCH"}
        assert answer(psp, accounts["joint"], "Smith Consulting") == {"partyNameMatch": "MTCH"}
        assert answer(psp, accounts["company"], "Mueller Bau") == {"partyNameMatch": "MTCH"}
        assert answer(psp, accounts["company"], lei=LEI) == {"partyIdMatch": "MTCH"}
        assert answer(psp, accounts["company"], lei="5493001KJTIIGC8Y1R12") == {
            "partyIdMatch": "NMTC"
        }
        assert answer(psp, unknown, "Laura Mustermann") == {
            "partyNameMatch": "NOAP",
            "reason": "ACCOUNT_UNKNOWN",
        }
        assert answer(psp, accounts["closed"], "Max Muster") == {
            "partyNameMatch": "NOAP",
            "reason": "ACCOUNT_CLOSED",
        }
        response = ask(psp, accounts["person"], "L. Mustermann")
    assert response.headers["X-Request-ID"]
    assert response.headers["X-Response-Timestamp"].endswith("Z")
    check: VopCheck = container.vop.get_check(uuid.UUID(response.json()["vopCheckId"]))
    assert (check.requester, check.iban, check.requested_name) == (
        BIC,
        accounts["person"],
        "L. Mustermann",
    )
    assert (check.outcome.value, check.disclosed_name) == ("CMTC", "Laura Mustermann")
    (event,) = container.vop.events.get(check.id)
    assert (event.actor, event.via_channel) == ("service:bankfr", "REST")
    assert check.latency_us >= 0
    assert check.received_at is not None and check.requested_at.year == 2026
    stored = list(container.vop.recorder.select_notifications(start=1, limit=100))
    assert len(stored) == 12  # one event per check, NOAP included
    assert {n.topic.rpartition(".")[2] for n in stored} == {"Answered"}


def test_a_repeated_request_id_is_answered_as_recorded(
    container: Container, accounts: dict[str, str]
) -> None:
    request_id = str(uuid.uuid4())
    with client_as(container, PSP) as psp:
        first = ask(psp, accounts["person"], "L. Mustermann", request_id=request_id).json()
        again = ask(psp, accounts["person"], "L. Mustermann", request_id=request_id).json()
        other = ask(psp, accounts["person"], "Hans Meier", request_id=request_id)
    assert again == first
    assert other.status_code == 409, other.text
    assert len(list(container.vop.recorder.select_notifications(start=1, limit=10))) == 1


def test_a_psp_is_one_requester_whether_its_bic_has_8_or_11_characters(
    container: Container, accounts: dict[str, str]
) -> None:
    request_id = str(uuid.uuid4())
    with client_as(container, PSP) as psp:
        short = ask(
            psp, accounts["person"], "Laura Mustermann", request_id=request_id, bic="BANKFRPP"
        )
        long = ask(psp, accounts["person"], "Laura Mustermann", request_id=request_id, bic=BIC)
    assert short.json()["vopCheckId"] == long.json()["vopCheckId"]
    assert container.vop.get_check(UUID(short.json()["vopCheckId"])).requester == BIC


def test_bulk_requests_are_answered_per_entry(
    container: Container, accounts: dict[str, str]
) -> None:
    entries = [
        {"party": {"name": "Laura Mustermann"}, "partyAccount": {"iban": accounts["person"]}},
        {"party": {"name": "J. Smith"}, "partyAccount": {"iban": accounts["joint"]}},
        {"party": {"name": "Anyone"}, "partyAccount": {"iban": iban("DE")}},
        {
            "party": {"identification": {"organisationId": {"lei": LEI}}},
            "partyAccount": {"iban": accounts["company"]},
        },
    ]
    with client_as(container, PSP) as psp:
        response = psp.post(
            "/v1/vop/payee-verifications/bulk",
            headers={
                "X-Request-ID": str(uuid.uuid4()),
                "X-Request-Timestamp": "2026-12-07T10:15:00+01:00",
            },
            json={
                "requestingAgent": {"financialInstitutionId": {"bicfi": BIC}},
                "entries": entries,
            },
        )
    assert response.status_code == 200, response.text
    results = [
        {k: v for k, v in r.items() if k != "vopCheckId"} for r in response.json()["results"]
    ]
    assert results == [
        {"index": 0, "partyNameMatch": "MTCH"},
        {"index": 1, "partyNameMatch": "CMTC", "matchedName": "John Smith"},
        {"index": 2, "partyNameMatch": "NOAP", "reason": "ACCOUNT_UNKNOWN"},
        {"index": 3, "partyIdMatch": "MTCH"},
    ]
    ids = {r["vopCheckId"] for r in response.json()["results"]}
    assert len(ids) == 4


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"headers": {"X-Request-ID": "not-a-uuid"}}, "X-Request-ID: must be a UUID"),
        ({"headers": {"X-Request-Timestamp": "yesterday"}}, "X-Request-Timestamp"),
        ({"headers": {"X-Request-Timestamp": "2026-12-07T10:15:00"}}, "time zone"),
        ({"iban": "DE00123"}, "partyAccount.iban"),
        ({"name": "  "}, "party.name: must not be blank"),
        ({"name": None}, "party: give a name or an organisation identifier"),
        ({"lei": "123"}, "party.identification.organisationId.lei"),
        ({"bic": "BANK"}, "requestingAgent.financialInstitutionId.bicfi: not a BIC"),
        ({"party_agent": "!!"}, "partyAgent.financialInstitutionId.bicfi: not a BIC"),
        ({"name": "Laura \u202eMustermann"}, "party.name: invisible formatting characters"),
        ({"name": "Laura\u200bMustermann"}, "party.name: invisible formatting characters"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    container: Container, change: dict[str, Any], field: str
) -> None:
    headers = {"X-Request-ID": str(uuid.uuid4()), "X-Request-Timestamp": "2026-12-07T10:15:00Z"}
    headers.update(change.get("headers", {}))
    party: dict[str, Any] = {}
    name = change.get("name", "Laura Mustermann")
    if name is not None:
        party["name"] = name
    if "lei" in change:
        party = {"identification": {"organisationId": {"lei": change["lei"]}}}
    body = {
        "party": party,
        "partyAccount": {"iban": change.get("iban", iban("DE"))},
        "requestingAgent": {"financialInstitutionId": {"bicfi": change.get("bic", BIC)}},
    }
    if "party_agent" in change:
        body["partyAgent"] = {"financialInstitutionId": {"bicfi": change["party_agent"]}}
    with client_as(container, PSP) as psp:
        response = psp.post("/v1/vop/payee-verifications", headers=headers, json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


def test_only_vop_requesters_may_ask(container: Container) -> None:
    for who in (CHANNEL, OLGA):
        with client_as(container, who) as client:
            response = ask(client, iban("DE"), "Anyone")
        assert response.status_code == 403, response.text
        assert "vop:check" in response.json()["detail"]


def test_each_psp_is_rate_limited_on_its_own(container: Container, settings: Settings) -> None:
    container.settings = settings.updated(
        vop={"rate_limit_per_second": 0.001, "rate_limit_burst": 3}
    )
    other = Principal("service:bankit", frozenset({"vop_requester"}), kind="service")
    with client_as(container, PSP) as psp, client_as(container, other) as second:
        statuses = [ask(psp, iban("DE"), "Anyone").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert ask(second, iban("DE"), "Anyone").status_code == 200


CHECKS = """
query($filter: VopCheckFilterInput, $first: Int, $after: String) {
  vopChecks(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id iban requester requestedName outcome reason disclosedName
                          direction entry latencyMicros actor requestedIdentifier { scheme } } }
    pageInfo { hasNextPage endCursor } } }
"""
CHECK = "query($id: ID!) { vopCheck(id: $id) { id outcome disclosedName requestedName } }"
AUDITOR = Principal("user:audrey", frozenset({"auditor"}))


def test_compliance_reads_the_checks_and_metrics_count_them(
    container: Container, accounts: dict[str, str]
) -> None:
    with client_as(container, PSP) as psp:
        first = ask(psp, accounts["person"], "L. Mustermann").json()
        ask(psp, accounts["person"], "Hans Meier")
        ask(psp, iban("DE"), "Anyone")
        ask(psp, accounts["company"], lei=LEI)
        repeated = str(uuid.uuid4())
        ask(psp, accounts["joint"], "Jane Smith", request_id=repeated)
        ask(psp, accounts["joint"], "Jane Smith", request_id=repeated)  # not counted again
        text = psp.get("/metrics").text
    assert 'ledger_vop_checks_total{direction="RESPONDER",outcome="CMTC",reason="none"} 1.0' in text
    assert (
        'ledger_vop_checks_total{direction="RESPONDER",outcome="NOAP",reason="ACCOUNT_UNKNOWN"} '
        "1.0" in text
    )
    assert 'ledger_vop_checks_total{direction="RESPONDER",outcome="MTCH",reason="none"} 2.0' in text
    assert 'ledger_vop_check_latency_seconds_count{direction="RESPONDER"} 5.0' in text
    project(container)
    with client_as(container, AUDITOR) as auditor:
        everything = gql(auditor, CHECKS)["vopChecks"]["edges"]
        assert len(everything) == 5
        assert {e["node"]["actor"] for e in everything} == {"service:bankfr"}
        page = gql(auditor, CHECKS, {"first": 2})["vopChecks"]
        assert len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"]
        rest = gql(auditor, CHECKS, {"first": 10, "after": page["pageInfo"]["endCursor"]})
        seen = [e["node"]["id"] for e in page["edges"] + rest["vopChecks"]["edges"]]
        assert sorted(seen) == sorted(e["node"]["id"] for e in everything)
        close = gql(auditor, CHECKS, {"filter": {"outcome": "CMTC"}})["vopChecks"]["edges"]
        assert [e["node"]["disclosedName"] for e in close] == ["Laura Mustermann"]
        by_iban = gql(auditor, CHECKS, {"filter": {"iban": accounts["company"]}})
        (company,) = by_iban["vopChecks"]["edges"]
        assert company["node"]["requestedIdentifier"] == {"scheme": "LEI"}
        one = gql(auditor, CHECK, {"id": first["vopCheckId"]})["vopCheck"]
        assert one == {
            "id": first["vopCheckId"],
            "outcome": "CMTC",
            "disclosedName": "Laura Mustermann",
            "requestedName": "L. Mustermann",
        }
        bad = gql_errors(auditor, CHECKS, {"filter": {"iban": "DE00"}})
        assert bad[0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "filter.iban" in bad[0]["message"]
    with client_as(container, OLGA) as olga:
        errors = gql_errors(olga, CHECKS)
        assert errors[0]["extensions"] == {"code": "FORBIDDEN", "permission": "vop:read"}


def test_answers_from_the_directory_cache_follow_the_ledger(
    container: Container, accounts: dict[str, str]
) -> None:
    """Once the cache knows an IBAN the route answers in the event loop (no directory read);
    the answers, repeats and conflicts are those of the database path, and a closure the
    projector applied reaches the answer after the cache's next refresh."""
    cache = container.vop_cache
    assert cache is not None
    cache.refresh()  # follows the log from here (the follower thread would, within 0.5 s)
    person = accounts["person"]
    with client_as(container, PSP) as psp:
        assert answer(psp, person, "Laura Mustermann") == {"partyNameMatch": "MTCH"}  # read
        hits = cache.stats.hits
        first = ask(psp, person, "L. Mustermann", request_id="7b7c1b1e-4c6f-4d3c-9d7e-5b1a2c3d4e5f")
        assert first.json()["partyNameMatch"] == "CMTC"
        assert cache.stats.hits == hits + 1  # answered from memory
        again = ask(psp, person, "L. Mustermann", request_id="7b7c1b1e-4c6f-4d3c-9d7e-5b1a2c3d4e5f")
        assert again.status_code == 200
        assert again.json()["vopCheckId"] == first.json()["vopCheckId"]
        other = ask(psp, person, "Hans Meier", request_id="7b7c1b1e-4c6f-4d3c-9d7e-5b1a2c3d4e5f")
        assert other.status_code == 409
        container.ledger.close_account(person, "customer left")
        project(container)
        cache.refresh()
        assert answer(psp, person, "Laura Mustermann") == {
            "partyNameMatch": "NOAP",
            "reason": "ACCOUNT_CLOSED",
        }


def bulk(client: TestClient, entries: list[dict[str, Any]]) -> Any:
    return client.post(
        "/v1/vop/payee-verifications/bulk",
        headers={"X-Request-ID": str(uuid.uuid4()), "X-Request-Timestamp": "2026-12-07T10:15:00Z"},
        json={"requestingAgent": {"financialInstitutionId": {"bicfi": BIC}}, "entries": entries},
    )


def test_only_small_requests_are_answered_in_the_event_loop(
    container: Container, accounts: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk request above ``IN_LOOP_MAX_ENTRIES`` goes to the thread pool even when the
    cache knows every IBAN: its matching would hold the event loop (and every other request)."""
    cache = container.vop_cache
    assert cache is not None
    cache.refresh()
    vop = container.vop
    paths: list[tuple[str, int]] = []
    respond, respond_known = vop.respond, vop.respond_known

    def in_pool(request: Any) -> Any:
        paths.append(("pool", len(request.entries)))
        return respond(request)

    async def in_loop(request: Any, known: Any) -> Any:
        paths.append(("loop", len(request.entries)))
        return await respond_known(request, known)

    monkeypatch.setattr(vop, "respond", in_pool)
    monkeypatch.setattr(vop, "respond_known", in_loop)
    person = {"party": {"name": "Laura Mustermann"}, "partyAccount": {"iban": accounts["person"]}}
    most = IN_LOOP_MAX_ENTRIES
    with client_as(container, PSP) as psp:
        for size in (most + 1, most, most + 1, 1):  # the first reads the IBAN into the cache
            response = bulk(psp, [person] * size)
            assert response.status_code == 200, response.text
            assert [r["partyNameMatch"] for r in response.json()["results"]] == ["MTCH"] * size
    assert paths == [("pool", most + 1), ("loop", most), ("pool", most + 1), ("loop", 1)]


def test_a_bulk_request_takes_a_token_per_entry_and_an_empty_one_is_422(
    container: Container, settings: Settings
) -> None:
    container.settings = settings.updated(
        vop={"rate_limit_per_second": 0.001, "rate_limit_burst": 6, "bulk_max_entries": 5}
    )
    entry = {"party": {"name": "Anyone"}, "partyAccount": {"iban": iban("DE")}}
    with client_as(container, PSP) as psp:
        empty = bulk(psp, [])
        assert empty.status_code == 422, empty.text
        assert "entries: at least one" in empty.json()["detail"]
        assert bulk(psp, [entry] * 4).status_code == 200  # 1 + 4 of 6 taken
        assert ask(psp, iban("DE"), "Anyone").status_code == 200
        assert ask(psp, iban("DE"), "Anyone").status_code == 429
