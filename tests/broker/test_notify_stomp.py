"""The STOMP notification channel against the real broker: a notification is published with
a receipt, as JSON with the delivery id in its headers, and the session is reused."""

from __future__ import annotations

import json
import uuid

import pytest

from adapters.notifications.stomp import StompChannel
from application.notifications.ports import OutgoingNotification
from tests.broker.support import collecting, unique_config, wait_until

pytestmark = pytest.mark.broker


def notification(n: int) -> OutgoingNotification:
    delivery = str(uuid.uuid4())
    return OutgoingNotification(
        delivery_id=delivery,
        rule="payment-held",
        event_type="Transaction.Held",
        payload={"deliveryId": delivery, "n": n, "data": {"debtor_iban": "DE89**3000"}},
    )


def test_notifications_are_published_to_their_destination() -> None:
    config = unique_config()
    # a queue keeps what arrives before the collector subscribed (a topic would not)
    destination = f"/queue/test.{uuid.uuid4().hex[:10]}.alerts"
    channel = StompChannel(config, timeout=10)
    sent = [notification(n) for n in range(3)]
    try:
        results = [channel.send(destination, item) for item in sent]
    finally:
        channel.close()
    assert all(r.delivered for r in results), results
    with collecting(config, destination) as collector:
        wait_until(lambda: len(collector.snapshot()) >= 3, 20, "three notifications")
        received = collector.snapshot()
    assert [json.loads(m.body) for m in received] == [dict(item.payload) for item in sent]
    assert [m.headers["x-ledger-delivery"] for m in received] == [i.delivery_id for i in sent]
    assert {m.headers["content-type"] for m in received} == {"application/json"}
