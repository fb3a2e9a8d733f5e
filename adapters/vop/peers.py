"""The requester side's :class:`~application.vop.ports.PayeePsps` over HTTP: another PSP's
responder asked in the EPC VoP inter-PSP API's shape, the shape our own responder
(``POST /v1/vop/payee-verifications``, docs/vop.md) accepts.

One ``POST {base}/v1/vop/payee-verifications`` per question, with our reference
(``X-Request-ID``), time (``X-Request-Timestamp``), our BIC as ``requestingAgent`` and the
bearer token of ``LEDGER_VOP_PEER_TOKEN``; ``LEDGER_VOP_PEER_TIMEOUT_SECONDS`` bounds each
phase (connect, write, read, waiting for a pooled connection). No route, a timeout, a network
error, a status other than 200 or a body that is not a VoP answer: None (the requester
records NOAP ``PSP_UNAVAILABLE``), logged as a warning without the payee's data.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

import httpx

from adapters.vop.routes import VopRoutes
from application.vop.ports import PeerAnswer, PeerQuestion

log = logging.getLogger(__name__)

PATH = "/v1/vop/payee-verifications"
OUTCOMES = frozenset({"MTCH", "CMTC", "NMTC", "NOAP"})
MAX_NAME = 140


class HttpPayeePsps:
    """Asks the routed PSP's responder over HTTP (one shared, pooled client)."""

    def __init__(
        self,
        routes: VopRoutes,
        own_bic: str,
        *,
        token: str | None = None,
        timeout_seconds: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.routes = routes
        self.own_bic = own_bic
        self.token = token
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds), transport=transport, follow_redirects=False
        )

    def close(self) -> None:
        self.client.close()

    def ask(self, question: PeerQuestion) -> PeerAnswer | None:
        base = self.routes.route(question.iban, question.payee_bic)
        if base is None:
            return None
        headers = {
            "X-Request-ID": question.request_id,
            "X-Request-Timestamp": question.requested_at.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.client.post(base + PATH, json=self._body(question), headers=headers)
        except httpx.HTTPError as error:
            log.warning("VoP responder %s gave no answer: %s", base, type(error).__name__)
            return None
        if response.status_code != 200:
            log.warning("VoP responder %s answered HTTP %s", base, response.status_code)
            return None
        try:
            answer = parse_answer(response.json())
        except ValueError:
            answer = None
        if answer is None:
            log.warning("VoP responder %s answered something that is not a VoP answer", base)
        return answer

    def _body(self, question: PeerQuestion) -> dict[str, Any]:
        party: dict[str, Any] = {}
        if question.name is not None:
            party["name"] = question.name
        if question.identifier is not None:
            scheme, value = question.identifier
            org: dict[str, Any] = (
                {"lei": value}
                if scheme == "LEI"
                else {"other": {"identification": value, "schemeName": scheme}}
            )
            party["identification"] = {"organisationId": org}
        body: dict[str, Any] = {
            "party": party,
            "partyAccount": {"iban": question.iban},
            "requestingAgent": {"financialInstitutionId": {"bicfi": self.own_bic}},
        }
        if question.payee_bic is not None:
            body["partyAgent"] = {"financialInstitutionId": {"bicfi": question.payee_bic}}
        return body


def parse_answer(doc: object) -> PeerAnswer | None:
    """A responder's JSON answer, checked (None: not a VoP answer)."""
    if not isinstance(doc, dict):
        return None
    outcome = doc.get("partyNameMatch") or doc.get("partyIdMatch")
    if outcome not in OUTCOMES:
        return None
    reason = doc.get("reason")
    name = doc.get("matchedName")
    if outcome == "CMTC":
        if (
            not isinstance(name, str)
            or not name.strip()
            or len(name) > MAX_NAME
            or any(ord(char) < 32 or 0xD800 <= ord(char) <= 0xDFFF for char in name)
        ):
            return None
        return PeerAnswer(outcome, matched_name=" ".join(name.split()))
    if outcome == "NOAP":
        return PeerAnswer(outcome, reason=reason if isinstance(reason, str) else None)
    return PeerAnswer(str(outcome))
