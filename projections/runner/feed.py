"""Following the logs: one feeder thread per source pushes notifications into an inbox,
from which the projector's follow loop takes them in batches."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification, Subscription

from projections.runner.sources import EventSource


class Inbox:
    """Where the feeders leave notifications for the follow loop, taken in batches.

    Feeders add one notification at a time (subscription) or a page (polling)
    without waking the loop for each; the loop is woken when a batch is full,
    and otherwise collects for at most ``max_batch_delay`` after the first.
    """

    def __init__(self, capacity: int, batch_size: int) -> None:
        self.capacity = capacity
        self.batch_size = batch_size
        self._items: deque[tuple[str, Notification]] = deque()
        self._error: BaseException | None = None
        self._changed = threading.Condition()

    def __len__(self) -> int:
        return len(self._items)

    def put(
        self, source: str, notifications: Sequence[Notification], stopped: threading.Event
    ) -> bool:
        with self._changed:
            while len(self._items) >= self.capacity:
                if stopped.is_set():
                    return False
                self._changed.wait(0.1)
            if stopped.is_set():
                return False
            was = len(self._items)
            self._items.extend((source, n) for n in notifications)
            if was == 0 or (was < self.batch_size <= len(self._items)):
                self._changed.notify_all()
        return True

    def fail(self, error: BaseException) -> None:
        with self._changed:
            if self._error is None:
                self._error = error
            self._changed.notify_all()

    def take(
        self, limit: int, idle_wait: float, fill_wait: float
    ) -> list[tuple[str, Notification]]:
        """Up to ``limit`` items: wait ``idle_wait`` for a first, then ``fill_wait`` for more."""
        with self._changed:
            if not self._items and self._error is None and idle_wait > 0:
                self._changed.wait(idle_wait)
            if self._items and len(self._items) < limit and self._error is None and fill_wait > 0:
                self._changed.wait_for(
                    lambda: len(self._items) >= limit or self._error is not None, fill_wait
                )
            if self._error is not None:
                raise self._error
            count = min(limit, len(self._items))
            taken = [self._items.popleft() for _ in range(count)]
            if taken:
                self._changed.notify_all()  # room for the feeders again
            return taken


class Feeder(threading.Thread):
    """Pushes one source's notifications into the projector's inbox."""

    def __init__(
        self,
        source: EventSource,
        after: int,
        inbox: Inbox,
        limit: int,
        poll_interval: float,
        modes: dict[str, str],
    ) -> None:
        super().__init__(name=f"projector-feed-{source.name}", daemon=True)
        self.modes = modes
        self.source = source
        self.after = after
        self.inbox = inbox
        self.limit = limit
        self.poll_interval = poll_interval
        self._stopped = threading.Event()
        self._subscription: Subscription[Any] | None = None
        self._guard = threading.Lock()

    def run(self) -> None:
        try:
            try:
                subscription = self.source.subscribe(self.after)
            except NotImplementedError:
                self.modes[self.source.name] = "polling"
                self._poll()
                return
            self.modes[self.source.name] = "subscription"
            with self._guard:
                self._subscription = subscription
            if self._stopped.is_set():
                subscription.stop()
            with subscription:
                for notification in subscription:
                    if not self.inbox.put(self.source.name, (notification,), self._stopped):
                        break
        except BaseException as error:
            if not self._stopped.is_set():
                self.inbox.fail(error)

    def _poll(self) -> None:
        after = self.after
        while not self._stopped.is_set():
            notifications = self.source.notifications(after, self.limit)
            if notifications:
                if not self.inbox.put(self.source.name, notifications, self._stopped):
                    return
                after = notifications[-1].id
            if len(notifications) < self.limit:
                self._stopped.wait(self.poll_interval)

    def stop(self) -> None:
        self._stopped.set()
        with self._guard:
            subscription = self._subscription
        if subscription is not None:
            subscription.stop()
