"""A PostgreSQL subscription sees an event committed before its LISTEN took effect.

eventsourcing 9.5's subscription reads the log once (pull thread) and then waits for a NOTIFY
that its other thread LISTENs for. A commit between that first read and the LISTEN notified
nobody: the projector slept until the next write (CI: a projector started just before an
account was opened never projected it). The test holds the LISTEN back until an event is
committed after the first read: the subscription must still deliver it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from adapters.persistence import DatabaseConfig, event_store_env
from adapters.pg_event_store import ListenFirstSubscription

pytestmark = pytest.mark.postgres

WAIT = 10.0


class _Thing(Aggregate):
    """Any aggregate: the test needs one committed event."""


def test_an_event_committed_before_the_listen_is_delivered(
    postgres_database: DatabaseConfig,
) -> None:
    app = Application(env=event_store_env(postgres_database, "subscriptiontest"))
    recorder: Any = app.recorder
    first_read_done = threading.Event()
    event_committed = threading.Event()

    real_select = recorder.select_notifications

    def select_then_signal(*args: Any, **kwargs: Any) -> Any:
        found = real_select(*args, **kwargs)
        first_read_done.set()
        return found

    real_get_connection = recorder.datastore.get_connection

    @contextlib.contextmanager
    def listen_late(*args: Any, **kwargs: Any) -> Iterator[Any]:
        if "(_listen)" in threading.current_thread().name:
            assert event_committed.wait(WAIT)  # the LISTEN only after the commit
        with real_get_connection(*args, **kwargs) as conn:
            yield conn

    recorder.select_notifications = select_then_signal
    recorder.datastore.get_connection = listen_late
    try:
        subscription = recorder.subscribe(gt=0)
        assert isinstance(subscription, ListenFirstSubscription)
        received: queue.Queue[int] = queue.Queue()

        def consume() -> None:
            with contextlib.suppress(Exception), subscription:
                for notification in subscription:
                    received.put(notification.id)

        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        assert first_read_done.wait(WAIT)
        app.save(_Thing())
        event_committed.set()
        try:
            assert received.get(timeout=WAIT) == 1
        finally:
            subscription.stop()
            consumer.join(timeout=WAIT)
    finally:
        app.close()
