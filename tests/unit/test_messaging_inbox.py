"""The consumer's inbox decodes on the receiver thread and never lets an error escape it."""

from __future__ import annotations

import json

import pytest

from adapters.messaging import consumer
from adapters.messaging.connection import Delivery
from adapters.messaging.decoding import Decoded, Undeliverable
from tests.builders import message


def _delivery(body: bytes, content_type: str = "application/json") -> Delivery:
    return Delivery("m-1", "a-1", "/queue/in", {"content-type": content_type}, body, session=1)


def test_a_valid_message_arrives_decoded() -> None:
    inbox = consumer._DecodingInbox("PACS008")
    inbox.put(_delivery(json.dumps(message(external_id="IN-1")).encode()))
    delivery, outcome = inbox.arrivals.get_nowait()
    assert isinstance(outcome, Decoded)
    assert outcome.instructions[0].external_id == "IN-1"
    assert delivery.message_id == "m-1"


def test_an_invalid_message_arrives_with_its_dead_letter_reason() -> None:
    inbox = consumer._DecodingInbox("PACS008")
    inbox.put(_delivery(b"{not json"))
    _, outcome = inbox.arrivals.get_nowait()
    assert isinstance(outcome, Undeliverable)
    assert outcome.reason == "malformed-json"


def test_a_parser_bug_becomes_a_processing_error_not_a_dead_receiver_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> Decoded:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(consumer, "decode", broken)
    inbox = consumer._DecodingInbox("PACS008")
    inbox.put(_delivery(b"{}"))
    _, outcome = inbox.arrivals.get_nowait()
    assert isinstance(outcome, Undeliverable)
    assert outcome.reason == "processing-error"
    assert "RuntimeError: parser bug" in outcome.detail
