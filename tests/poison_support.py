"""Shared by the poison-input suites (tests/e2e and tests/broker): the hostile payment messages,
"nothing was recorded" and "the pipeline still moves" (a normal payment visible in every read
model, with the projector running in the background as in ``ledger serve``).

The issue's figure is "within 2 s"; a test does not time it (a loaded CI machine paused the
whole process for longer once, with nothing stuck): it waits up to :data:`STUCK_AFTER` for the
payment, which only a stopped pipeline misses, and dumps every thread's stack when it does."""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from api.http.app import ProjectorThread
from api.runtime.bootstrap import Container
from application.input_rules import MAX_METADATA_KEYS
from tests.builders import iban, message

STUCK_AFTER = 30.0
"""Seconds after which a normal payment not yet in every read model means the pipeline stopped
(the projector polls every 0.2 s and projects such a payment in milliseconds)."""


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _with_metadata(raw_metadata: str) -> Callable[[str], bytes]:
    """A valid payment (creditor given) whose ``metadata`` is the JSON text ``raw_metadata``."""

    def build(creditor: str) -> bytes:
        body = json.dumps(message(debtor=iban("NL"), creditor=creditor, channel="SEPA"))
        return body.replace(
            '"metadata": {"deviceId": "d-1"}', f'"metadata": {raw_metadata}'
        ).encode()

    return build


def _with(**fields: Any) -> Callable[[str], bytes]:
    def build(creditor: str) -> bytes:
        body = message(debtor=iban("NL"), creditor=creditor, channel="SEPA") | fields
        return json.dumps(body).encode()

    return build


def _raw(text: bytes) -> Callable[[str], bytes]:
    return lambda _creditor: text


def _amount_as_huge_number(creditor: str) -> bytes:
    """``"amount": 9999...`` (10,000 digits, a JSON number): Python's int() refuses it."""
    body = json.dumps(message(debtor=iban("NL"), creditor=creditor, channel="SEPA"))
    return body.replace('"amount": "10.00"', '"amount": ' + "9" * 10_000).encode()


# (id, body for a creditor, the field the refusal must name (its text starts the reason))
HOSTILE_PAYMENTS: list[tuple[str, Callable[[str], bytes], str]] = [
    ("metadata-900-deep", _with_metadata(_nested(900)), "metadata: nested deeper than 8 levels"),
    ("metadata-9-deep", _with_metadata(_nested(9)), "metadata: nested deeper than 8 levels"),
    ("metadata-NaN", _with_metadata('{"x": NaN}'), "metadata.x: NaN is not valid JSON"),
    ("metadata-Infinity", _with_metadata('{"x": -Infinity}'), "metadata.x: -Infinity"),
    ("metadata-1e999", _with_metadata('{"x": 1e999}'), "metadata.x: 1e999 is out of range"),
    (
        "metadata-10000-digits",
        _with_metadata('{"x": ' + "9" * 10_000 + "}"),
        "metadata.x: a number of 10000 digits",
    ),
    (
        "metadata-oversized",
        _with(metadata={f"k{i}": "v" * 1000 for i in range(5)}),
        "metadata: 5041 bytes serialised",
    ),
    (
        "metadata-too-many-keys",
        _with(metadata={f"k{i}": i for i in range(MAX_METADATA_KEYS + 1)}),
        "metadata: more than 64 keys",
    ),
    ("metadata-nul", _with(metadata={"x": "a\u0000b"}), "metadata.x: NUL"),
    ("metadata-lone-surrogate", _with(metadata={"x": "a\ud800"}), "metadata.x: not valid Unicode"),
    ("metadata-a-list", _with(metadata=[1, 2]), "metadata: must be an object"),
    ("amount-10000-digit-number", _amount_as_huge_number, "amount: must be a decimal string"),
    ("amount-10000-digits", _with(amount="9" * 10_000), "amount: amount '99999"),
    ("amount-NaN", _with(amount="NaN"), "amount: not a finite amount"),
    ("reference-lone-surrogate", _with(reference="ab\udc80"), "reference: not valid Unicode"),
    ("debtor-a-string", _with(debtor="DE89370400440532013000"), "debtor: required object"),
    (
        "requestedAt-year-1-east",
        _with(requestedAt="0001-01-01T00:00:00+01:00"),
        "requestedAt: 0001-01-01T00:00:00+01:00 is not representable in UTC",
    ),
    (
        "requestedAt-year-9999-west",
        _with(requestedAt="9999-12-31T23:59:59-01:00"),
        "requestedAt: 9999-12-31T23:59:59-01:00 is not representable in UTC",
    ),
    (
        "requestedAt-1066",
        _with(requestedAt="1066-10-14T09:00:00Z"),
        "requestedAt: year 1066 is outside 1900..2200",
    ),
    ("vopCheckId-not-a-uuid", _with(vopCheckId="check-42"), "vopCheckId: must be a UUID"),
    ("vopCheckId-a-number", _with(vopCheckId=42), "vopCheckId: must be a UUID string"),
]
"""Hostile payment messages that decode as JSON: every channel refuses them in the one parser."""

BODY_100K_DEEP = b"[" * 100_000 + b"]" * 100_000
"""Not a message at all: nested beyond the decoder's reach (a body-level refusal)."""


@contextmanager
def projector_running(container: Container) -> Iterator[ProjectorThread]:
    """The projector following the log in a background thread, as ``ledger serve`` runs it."""
    thread = ProjectorThread(container)
    thread.start()
    try:
        yield thread
    finally:
        thread.shutdown()


def everything_projected(container: Container) -> bool:
    """Every projection of every context at the head of its log."""
    return all(status.lag == 0 for status in container.projector.status())


def thread_stacks() -> str:
    """Every thread's current stack: where a stopped pipeline is stuck."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(
        f"--- thread {names.get(ident, ident)}\n" + "".join(traceback.format_stack(frame))
        for ident, frame in sys._current_frames().items()
    )


def wait_visible(container: Container, transaction_id: str, what: str) -> None:
    """Wait at most :data:`STUCK_AFTER` s for ``transaction_id`` POSTED in the read models and
    every projection at the head of the log; fail naming ``what``, with every thread's stack,
    otherwise."""
    deadline = time.monotonic() + STUCK_AFTER
    while True:
        view = container.queries.transaction(transaction_id)
        if view is not None and view.status == "POSTED" and everything_projected(container):
            audit = container.queries.audit_trail(transaction_id, None, None, 50, None)
            assert audit.edges, f"{what}: the audit trail has no event of {transaction_id}"
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what}: payment {transaction_id} not in every read model within "
                f"{STUCK_AFTER} s (view: {view}, projections: {container.projector.status()})\n"
                f"{thread_stacks()}"
            )
        time.sleep(0.02)
