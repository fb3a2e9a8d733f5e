"""``LEDGER_STOMP_*``, ``LEDGER_INGEST_*``, ``LEDGER_PACS008_CHANNEL``, ``LEDGER_OUTBOX``: the
broker to ingest payments from and publish outcomes to.

Read only when ``LEDGER_STOMP_URL`` is set (no broker: the other variables are not looked
at). The section builds the :class:`adapters.messaging.config.StompConfig` the consumer uses.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, ValidationInfo, field_validator

from adapters.messaging.config import (
    DEFAULT_DLQ,
    DEFAULT_EVENTS_TOPIC,
    DEFAULT_QUEUE,
    StompConfig,
    parse_stomp_url,
)
from api.runtime.settings import parsing
from api.runtime.settings.base import Problems, Section, env
from domain.ledger.transactions import RESERVED_CHANNELS


def _destination(prefix: str) -> BeforeValidator:
    def check(value: object) -> object:
        if isinstance(value, str) and (not value.startswith(prefix) or value == prefix):
            raise ValueError(f"must start with {prefix}, got {value!r}")
        return value

    return BeforeValidator(check)


def _channel(value: object) -> object:
    if not isinstance(value, str):
        return value
    channel = value.upper()
    if channel in RESERVED_CHANNELS:
        raise ValueError(f"{channel} is reserved for the ledger's own bookings")
    return channel


def _outbox(value: object) -> object:
    if not isinstance(value, str):
        return value
    if value.lower() not in {"on", "off"}:
        raise ValueError(f"must be on or off, got {value.lower()!r}")
    return value.lower() != "off"


class StompSettings(Section):
    """One broker endpoint and the ingestion tuning; read into a :class:`StompConfig`."""

    url: str | None = env(
        "LEDGER_STOMP_URL",
        None,
        "`stomp://user:password@host:61613[/vhost]` (`stomp+ssl://` for TLS): the broker to "
        "ingest from; unset = no message-queue ingestion",
        secret=True,
    )
    queue: Annotated[str, _destination("/queue/")] = env(
        "LEDGER_STOMP_QUEUE", DEFAULT_QUEUE, "where payments arrive"
    )
    dead_letter_queue: Annotated[str, _destination("/queue/")] = env(
        "LEDGER_STOMP_DLQ",
        DEFAULT_DLQ,
        "where unbookable messages go, untouched, with `x-dead-letter-*` headers",
    )
    events_topic: Annotated[str, _destination("/topic/")] = env(
        "LEDGER_STOMP_EVENTS_TOPIC",
        DEFAULT_EVENTS_TOPIC,
        "where booked outcomes are published (the outbox)",
    )
    batch_size: Annotated[int, parsing.integer(1)] = env(
        "LEDGER_INGEST_BATCH_SIZE", 200, "most messages booked in one database transaction"
    )
    batch_wait_ms: Annotated[int, parsing.integer(0)] = env(
        "LEDGER_INGEST_BATCH_WAIT_MS",
        2,
        "longest a batch waits for more messages after its first (0: only what has arrived)",
    )
    prefetch: Annotated[int | None, parsing.integer(1)] = env(
        "LEDGER_STOMP_PREFETCH",
        None,
        "unacknowledged messages the broker may push (backpressure); at least the batch size",
        shown="2 x batch size",
    )
    heartbeat_ms: Annotated[int, parsing.integer(1)] = env(
        "LEDGER_STOMP_HEARTBEAT_MS", 10_000, "STOMP heart-beats both ways"
    )
    pacs008_channel: Annotated[str, BeforeValidator(_channel)] = env(
        "LEDGER_PACS008_CHANNEL",
        "PACS008",
        "channel (first half of the idempotency key) of payments that arrive as pacs.008",
    )
    outbox: Annotated[bool, BeforeValidator(_outbox)] = env(
        "LEDGER_OUTBOX",
        True,
        "`off`: this process does not publish outcomes (another one does)",
        shown="`on`",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        problems: list[str] = []
        if url is not None:
            parse_stomp_url(url, problems)
        if problems:
            raise Problems(problems)
        return url

    @field_validator("prefetch")
    @classmethod
    def _fills_a_batch(cls, prefetch: int | None, info: ValidationInfo) -> int | None:
        batch = info.data.get("batch_size")
        if prefetch is not None and batch is not None and prefetch < batch:
            raise ValueError(
                f"{prefetch} is below the batch size {batch}; batches could never fill"
            )
        return prefetch

    def config(self) -> StompConfig | None:
        """The broker's config; None without ``LEDGER_STOMP_URL``."""
        if self.url is None:
            return None
        base = parse_stomp_url(self.url, [])
        return StompConfig(
            host=base.host,
            port=base.port,
            username=base.username,
            password=base.password,
            vhost=base.vhost,
            use_ssl=base.use_ssl,
            queue=self.queue,
            dead_letter_queue=self.dead_letter_queue,
            events_topic=self.events_topic,
            batch_size=self.batch_size,
            batch_wait_ms=self.batch_wait_ms,
            prefetch=self.prefetch if self.prefetch is not None else 2 * self.batch_size,
            heartbeat_ms=self.heartbeat_ms,
            pacs008_channel=self.pacs008_channel,
            outbox=self.outbox,
        )
