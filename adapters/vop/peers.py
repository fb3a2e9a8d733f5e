"""The requester side's :class:`~application.vop.ports.PayeePsps` over HTTP: another PSP's
responder asked in the EPC VoP inter-PSP API's shape, the shape our own responder
(``POST /v1/vop/payee-verifications``, docs/vop.md) accepts.

One ``POST {base}/v1/vop/payee-verifications`` per question, with our reference
(``X-Request-ID``: our check's id, unique per channel and request id), time
(``X-Request-Timestamp``), our BIC as ``requestingAgent`` and the bearer token of
``LEDGER_VOP_PEER_TOKEN``. Another PSP's reply is untrusted input, so the call is bounded:

* ``LEDGER_VOP_PEER_TIMEOUT_SECONDS`` is the deadline of the whole call (monotonic clock),
  checked as the answer arrives; each single wait (connect, send, a read) is bounded by the
  same value, so a peer that trickles its answer is cut off at the deadline, at worst one
  wait later (twice the setting);
* the answer is read as a stream and given up beyond :data:`MAX_ANSWER_BYTES` (no
  compression accepted: the cap is on what is parsed);
* at most ``max_concurrent`` calls are under way at once; one more is not queued (it would
  hold a request thread) but answered None at once.

No route, a full set of calls, a timeout, a network error, a status other than 200 or a body
that is not a VoP answer (whatever its JSON: wrong types, deep nesting): None, and the
requester records NOAP ``PSP_UNAVAILABLE``; logged as a warning without the payee's data.
The client ignores proxy settings of the environment (``trust_env=False``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC
from typing import Any

import httpx

from adapters.vop.routes import VopRoutes
from application.vop.ports import PeerAnswer, PeerQuestion

log = logging.getLogger(__name__)

PATH = "/v1/vop/payee-verifications"
OUTCOMES = frozenset({"MTCH", "CMTC", "NMTC", "NOAP"})
MAX_NAME = 140
MAX_ANSWER_BYTES = 16 * 1024
"""A VoP answer is a few hundred bytes; more is not one."""
MAX_CONCURRENT = 32
_CONTROL = frozenset({"Cc", "Cf", "Cs"})  # controls, format (bidi overrides), surrogates


class HttpPayeePsps:
    """Asks the routed PSP's responder over HTTP (one shared, pooled client)."""

    def __init__(
        self,
        routes: VopRoutes,
        own_bic: str,
        *,
        token: str | None = None,
        timeout_seconds: float = 1.0,
        max_concurrent: int = MAX_CONCURRENT,
        max_bytes: int = MAX_ANSWER_BYTES,
        transport: httpx.BaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.routes = routes
        self.own_bic = own_bic
        self.token = token
        self.timeout_seconds = timeout_seconds
        self.max_concurrent = max_concurrent
        self.max_bytes = max_bytes
        self.monotonic = monotonic
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=max_concurrent),
        )

    def close(self) -> None:
        self.client.close()

    def ask(self, question: PeerQuestion) -> PeerAnswer | None:
        base = self.routes.route(question.iban, question.payee_bic)
        if base is None:
            return None
        if not self._slots.acquire(blocking=False):
            log.warning(
                "VoP responder %s not asked: %d calls to other PSPs under way",
                base,
                self.max_concurrent,
            )
            return None
        try:
            raw = self._fetch(base, question)
        finally:
            self._slots.release()
        if raw is None:
            return None
        answer = read_answer(raw)
        if answer is None:
            log.warning("VoP responder %s answered something that is not a VoP answer", base)
        return answer

    def _fetch(self, base: str, question: PeerQuestion) -> bytes | None:
        """The answer's bytes within the deadline and the size cap, or None (logged)."""
        deadline = self.monotonic() + self.timeout_seconds
        headers = {
            "X-Request-ID": question.request_id,
            "X-Request-Timestamp": question.requested_at.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "Accept-Encoding": "identity",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            with self.client.stream(
                "POST", base + PATH, json=self._body(question), headers=headers
            ) as response:
                if response.status_code != 200:
                    log.warning("VoP responder %s answered HTTP %s", base, response.status_code)
                    return None
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_raw():
                    size += len(chunk)
                    if size > self.max_bytes:
                        log.warning("VoP responder %s answered over %d bytes", base, size)
                        return None
                    chunks.append(chunk)
                    if self.monotonic() > deadline:
                        break
                if self.monotonic() > deadline:
                    log.warning(
                        "VoP responder %s did not answer within %s s", base, self.timeout_seconds
                    )
                    return None
                return b"".join(chunks)
        except httpx.HTTPError as error:
            log.warning("VoP responder %s gave no answer: %s", base, type(error).__name__)
            return None

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


def read_answer(raw: bytes) -> PeerAnswer | None:
    """A responder's answer from its bytes: None for anything that is not one, whatever
    breaks reading it (invalid UTF-8 or JSON, nesting too deep, unexpected types)."""
    try:
        return parse_answer(json.loads(raw))
    except Exception:  # hostile input must never escape as a 500
        return None


def parse_answer(doc: object) -> PeerAnswer | None:
    """A responder's JSON answer, checked (None: not a VoP answer)."""
    if not isinstance(doc, dict):
        return None
    outcome = doc.get("partyNameMatch") or doc.get("partyIdMatch")
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        return None
    reason = doc.get("reason")
    name = doc.get("matchedName")
    if outcome == "CMTC":
        if (
            not isinstance(name, str)
            or not name.strip()
            or len(name) > MAX_NAME
            or any(unicodedata.category(char) in _CONTROL for char in name)
        ):
            return None
        return PeerAnswer(outcome, matched_name=" ".join(name.split()))
    if outcome == "NOAP":
        return PeerAnswer(outcome, reason=reason if isinstance(reason, str) else None)
    return PeerAnswer(outcome)
