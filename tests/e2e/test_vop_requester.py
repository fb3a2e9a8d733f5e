"""The requester side of Verification of Payee over REST (issue 15): our channel asks
``POST /v1/vop/checks`` before the payer authorises.

* A payee of ours is decided from our directory (CMTC with the name to show, NOAP for an
  unknown account of ours), recorded as a ``REQUESTER`` check of the calling principal.
* A payee of another PSP is asked of that PSP's responder over HTTP: here a second instance of
  our own app served by uvicorn on a random port (its own database and accounts), routed by
  ``LEDGER_VOP_ROUTES``, with the bearer token of ``LEDGER_VOP_PEER_TOKEN``. No route, a PSP
  that does not answer in time (a socket that accepts and stays silent), one that refuses our
  token: NOAP ``PSP_UNAVAILABLE``, never an error to the payer.
* ``vopCheckId`` travels with the payment: recorded on the transaction, projected, shown by
  REST and GraphQL; a malformed one is 422 naming the field; an unknown one books anyway.
* Permission ``vop:request``: the ``channel`` service role; 403 for a PSP or a person.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from adapters.persistence import DatabaseConfig
from adapters.vop.routes import parse_routes
from api.http.app import create_app
from api.runtime.bootstrap import Container, bootstrap
from api.runtime.settings import Settings
from api.security import HasHeaders, Principal
from domain.vop.checks import Direction
from tests.builders import FakeClock, iban
from tests.e2e.conftest import SUPERUSER, client_as, fund, gql, open_account, pay, project

CHANNEL = Principal("service:mobile", frozenset({"channel"}), kind="service")
PSP = Principal("service:bankfr", frozenset({"vop_requester"}), kind="service")
OLGA = Principal("user:olga", frozenset({"operator"}))
ANONYMOUS = Principal("anonymous")
TOKEN = "peer-token-0123456789"
OUR_BIC = "LEDGDEFFXXX"


class Peer:
    """Another PSP: our own app in a second instance with its own database, served over
    HTTP by uvicorn on a random port; it knows our token as a ``vop_requester``."""

    def __init__(self, data_dir: Any) -> None:
        self.container = bootstrap(Settings().with_database(DatabaseConfig(data_dir=data_dir)))
        self.token = TOKEN

        def resolve(request: HasHeaders) -> Principal:
            granted = request.headers.get("authorization") == f"Bearer {self.token}"
            return PSP if granted else ANONYMOUS

        app = create_app(self.container, principal_resolver=resolve)
        self.server = uvicorn.Server(
            # no log_config, no log_level: uvicorn would otherwise reconfigure its loggers
            # (levels, propagation) for the rest of the session (tests of the JSON logs)
            uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:  # the server's own readiness flag
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.server.should_exit = True
                raise RuntimeError("the peer's server did not start")
            self.thread.join(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def open(self, holder: str) -> str:
        account = iban("NL")
        with client_as(self.container, Principal("user:peer", frozenset({"operator"}))) as op:
            response = op.post(
                "/v1/accounts", json={"iban": account, "holderName": holder, "currency": "EUR"}
            )
        assert response.status_code == 201, response.text
        project(self.container)
        return account

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.container.close()


@pytest.fixture
def peer(tmp_path: Any) -> Iterator[Peer]:
    server = Peer(tmp_path / "peer")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def silent() -> Iterator[str]:
    """A PSP that accepts the connection and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@pytest.fixture
def ours(settings: Settings, clock: FakeClock, peer: Peer, silent: str) -> Iterator[Container]:
    """Our app: Dutch ABN AMRO IBANs routed to the peer, French BNP ones to a silent PSP,
    Spanish ones by the payee's BIC to the peer without our token's acceptance."""
    routes = parse_routes(f"iban:NLABNA={peer.url}, iban:FR20041={silent}, bic:CAIXESBB={peer.url}")
    built = bootstrap(
        settings.updated(
            vop={
                "routes": routes,
                "bic": OUR_BIC,
                "peer_token": TOKEN,
                # the silent PSP costs one deadline (up to twice this); the real peer must
                # answer within it on a loaded machine too
                "peer_timeout_seconds": 3.0,
            }
        ),
        clock=clock,
    )
    try:
        yield built
    finally:
        built.close()


def check(client: TestClient, payee: str, name: str, **extra: Any) -> dict[str, Any]:
    headers = extra.pop("headers", {})
    response = client.post(
        "/v1/vop/checks",
        json={"party": {"name": name}, "partyAccount": {"iban": payee}, **extra},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "vopCheckId"}


def test_a_payee_of_ours_is_decided_from_our_directory(ours: Container) -> None:
    with client_as(ours, CHANNEL) as channel, client_as(ours, OLGA) as olga:
        payee = iban("DE")
        open_account(olga, payee, holder="Laura Mustermann")
        project(ours)
        payer = iban("DE")
        answer = check(channel, payee, "L. Mustermann", payerAccount={"iban": payer})
        assert without_id(answer) == {"partyNameMatch": "CMTC", "matchedName": "Laura Mustermann"}
        assert without_id(check(channel, payee, "Laura Mustermann")) == {"partyNameMatch": "MTCH"}
        assert without_id(check(channel, iban("DE"), "Anyone")) == {
            "partyNameMatch": "NOAP",
            "reason": "PSP_UNAVAILABLE",  # not in our directory and not routed
        }
    recorded = ours.vop.get_check(uuid.UUID(answer["vopCheckId"]))
    assert recorded.direction is Direction.REQUESTER
    assert (recorded.requester, recorded.iban, recorded.requested_name) == (
        "service:mobile",
        payee,
        "L. Mustermann",
    )
    assert (recorded.disclosed_name, recorded.payer_iban) == ("Laura Mustermann", payer)
    (event,) = ours.vop.events.get(recorded.id)
    assert (event.actor, event.via_channel) == ("service:mobile", "REST")


def test_a_payee_of_another_psp_is_asked_of_its_responder_over_http(
    ours: Container, peer: Peer
) -> None:
    payee = peer.open("Jan de Vries")
    with client_as(ours, CHANNEL) as channel:
        close = check(channel, payee, "J. de Vries")
        assert without_id(close) == {"partyNameMatch": "CMTC", "matchedName": "Jan de Vries"}
        assert without_id(check(channel, payee, "Pieter Bakker")) == {"partyNameMatch": "NMTC"}
        assert without_id(check(channel, iban("NL"), "Jan de Vries")) == {
            "partyNameMatch": "NOAP",
            "reason": "ACCOUNT_UNKNOWN",  # the peer's answer, passed on
        }
    # the peer recorded our question as a responder check, asked by our BIC with our token
    (theirs,) = [
        c
        for c in (
            peer.container.vop.get_check(n.originator_id)
            for n in peer.container.vop.recorder.select_notifications(start=1, limit=10)
        )
        if c.requested_name == "J. de Vries"
    ]
    assert (theirs.direction, theirs.requester) == (Direction.RESPONDER, OUR_BIC)
    mine = ours.vop.get_check(uuid.UUID(close["vopCheckId"]))
    assert (mine.direction, mine.outcome.value, mine.rule) == (Direction.REQUESTER, "CMTC", None)
    # the X-Request-ID sent is our check's id (unique per channel and request id), not the
    # channel's own reference, which another of our channels may use too
    assert theirs.request_id == str(mine.id) != mine.request_id


def test_no_route_no_answer_or_a_refused_token_is_noap_psp_unavailable(
    ours: Container, peer: Peer
) -> None:
    unavailable = {"partyNameMatch": "NOAP", "reason": "PSP_UNAVAILABLE"}
    with client_as(ours, CHANNEL) as channel:
        assert without_id(check(channel, iban("GB"), "Anyone")) == unavailable  # no route
        assert without_id(check(channel, iban("FR"), "Anyone")) == unavailable  # silent PSP
        by_bic = check(  # routed by the payee's BIC to the peer, which does not hold it
            channel,
            iban("ES"),
            "Anyone",
            partyAgent={"financialInstitutionId": {"bicfi": "CAIXESBBXXX"}},
        )
        assert without_id(by_bic) == {"partyNameMatch": "NOAP", "reason": "ACCOUNT_UNKNOWN"}
        payee = peer.open("Jan Jansen")
        peer.token = "another-token-00000000"  # the peer no longer accepts ours: 403 there
        before = peer_checks(peer)
        assert without_id(check(channel, payee, "Jan Jansen")) == unavailable
        assert peer_checks(peer) == before  # refused: the peer recorded nothing


def peer_checks(peer: Peer) -> int:
    return len(list(peer.container.vop.recorder.select_notifications(start=1, limit=100)))


def test_a_repeated_request_id_is_answered_as_recorded(ours: Container, peer: Peer) -> None:
    payee = peer.open("Anna Visser")
    rid = str(uuid.uuid4())
    with client_as(ours, CHANNEL) as channel:
        first = check(channel, payee, "A. Visser", headers={"X-Request-ID": rid})
        again = check(channel, payee, "A. Visser", headers={"X-Request-ID": rid})
        assert again == first
        other = channel.post(
            "/v1/vop/checks",
            json={"party": {"name": "Someone Else"}, "partyAccount": {"iban": payee}},
            headers={"X-Request-ID": rid},
        )
        assert other.status_code == 409, other.text
    notifications = list(ours.vop.recorder.select_notifications(start=1, limit=10))
    assert len(notifications) == 1


def test_bad_input_is_422_naming_the_field_and_only_channels_may_ask(ours: Container) -> None:
    with client_as(ours, CHANNEL) as channel:
        response = channel.post(
            "/v1/vop/checks",
            json={
                "party": {"name": "X"},
                "partyAccount": {"iban": "DE00"},
                "payerAccount": {"iban": "nope"},
                "partyAgent": {"financialInstitutionId": {"bicfi": "bad"}},
            },
            headers={"X-Request-ID": "not-a-uuid"},
        )
        assert response.status_code == 422, response.text
        detail = str(response.json())
        for field in (
            "X-Request-ID",
            "partyAccount.iban",
            "payerAccount.iban",
            "partyAgent.financialInstitutionId.bicfi",
        ):
            assert field in detail, (field, detail)
        blank = channel.post("/v1/vop/checks", json={"party": {}, "partyAccount": {"iban": iban()}})
        assert blank.status_code == 422 and "party: give a name" in blank.text
    for who in (PSP, OLGA):
        with client_as(ours, who) as client:
            response = client.post(
                "/v1/vop/checks",
                json={"party": {"name": "X"}, "partyAccount": {"iban": iban()}},
            )
        assert response.status_code == 403, response.text
        assert "vop:request" in response.json()["detail"]


TRANSACTION = """
query($id: ID!) { transaction(id: $id) { id status vopCheckId ruleHits } }
"""


def test_the_check_id_travels_with_the_payment(ours: Container) -> None:
    with client_as(ours, CHANNEL) as channel, client_as(ours, OLGA) as olga:
        payer, payee = iban("DE"), iban("DE")
        open_account(olga, payer)
        open_account(olga, payee, holder="Laura Mustermann")
    with client_as(ours, SUPERUSER) as admin:
        fund(admin, payer, "100.00")
        project(ours)
        with client_as(ours, CHANNEL) as channel:
            asked = check(channel, payee, "Hans Meier")  # NMTC
        assert asked["partyNameMatch"] == "NMTC"
        project(ours)  # the check is in rm_vop_checks before the payer pays
        paid = pay(admin, debtor=payer, creditor=payee, vopCheckId=asked["vopCheckId"].upper())
        assert paid["status"] == "POSTED"  # never blocked by the VoP result
        unknown = str(uuid.uuid4())
        anyway = pay(admin, debtor=payer, creditor=payee, vopCheckId=unknown)
        assert anyway["status"] == "POSTED"
        bad = admin.post(
            "/v1/transactions",
            json={
                "externalId": "X-1",
                "channel": "MOBILE",
                "debtor": {"iban": payer, "name": "A"},
                "creditor": {"iban": payee, "name": "B"},
                "amount": "1.00",
                "currency": "EUR",
                "vopCheckId": "check-42",
            },
        )
        assert bad.status_code == 422 and "vopCheckId: must be a UUID" in bad.text
        project(ours)
        shown = gql(admin, TRANSACTION, {"id": paid["transactionId"]})["transaction"]
        assert shown["vopCheckId"] == asked["vopCheckId"]
        assert "vop-no-match" in shown["ruleHits"]
        assert (
            "vop-check-unknown"
            in gql(admin, TRANSACTION, {"id": anyway["transactionId"]})["transaction"]["ruleHits"]
        )
        rest = admin.get(f"/v1/transactions/{paid['transactionId']}").json()
        assert rest["vopCheckId"] == asked["vopCheckId"]
    tx = ours.ledger.get_transaction(uuid.UUID(paid["transactionId"]))
    assert tx.vop_check_id == asked["vopCheckId"]


def test_the_requester_side_has_its_own_limits_per_channel_and_per_payer(
    ours: Container,
) -> None:
    ours.settings = ours.settings.updated(
        vop={
            "request_rate_limit_per_second": 0.001,
            "request_rate_limit_burst": 3,
            "payer_rate_limit_per_second": 0.001,
            "payer_rate_limit_burst": 2,
        }
    )
    web = Principal("service:web", frozenset({"channel"}), kind="service")
    payer, payee = iban("DE"), iban("DE")
    body = {"party": {"name": "X"}, "partyAccount": {"iban": payee}}
    paying = {**body, "payerAccount": {"iban": payer}}
    as_web = {"X-Test-Channel": "web"}
    app = create_app(  # one app (one set of limiters), two channels
        ours,
        principal_resolver=lambda r: web if r.headers.get("X-Test-Channel") else CHANNEL,
    )
    with TestClient(app) as client:
        asked = [client.post("/v1/vop/checks", json=paying) for _ in range(3)]
        # the payer's bucket (2) is empty at the third, the channel's (3) at the fourth
        assert [r.status_code for r in asked] == [200, 200, 429]
        assert int(asked[2].headers["Retry-After"]) >= 1
        assert client.post("/v1/vop/checks", json=body).status_code == 429  # channel: 3 used
        refused = client.post("/v1/vop/checks", json=paying, headers=as_web)
        assert refused.status_code == 429  # the same payer through another channel
        assert "Retry-After" in refused.headers
        assert client.post("/v1/vop/checks", json=body, headers=as_web).status_code == 200


CHECKS_BY = """
query($requester: String) {
  vopChecks(filter: {requester: $requester}) { edges { node { requester direction } } } }
"""


def test_compliance_finds_a_channels_checks_by_its_principal(ours: Container) -> None:
    with client_as(ours, CHANNEL) as channel:
        check(channel, iban("DE"), "Anyone")
    project(ours)
    auditor = Principal("user:audrey", frozenset({"auditor"}))
    with client_as(ours, auditor) as client:
        found = gql(client, CHECKS_BY, {"requester": "service:mobile"})["vopChecks"]["edges"]
        assert [e["node"] for e in found] == [
            {"requester": "service:mobile", "direction": "REQUESTER"}
        ]
        assert gql(client, CHECKS_BY, {"requester": "ledgdeff"})["vopChecks"]["edges"] == []


def test_the_openapi_reason_names_psp_unavailable(ours: Container) -> None:
    with client_as(ours, CHANNEL) as client:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "PSP_UNAVAILABLE" in schemas["VerificationOut"]["properties"]["reason"]["description"]
