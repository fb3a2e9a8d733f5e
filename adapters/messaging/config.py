"""STOMP settings: where the broker is, which destinations, how large a batch.

Parsed from ``LEDGER_STOMP_*`` by :func:`stomp_config_from_env`, which reports every
problem at once (the caller adds them to its own list), naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from domain.ledger.transactions import RESERVED_CHANNELS

DEFAULT_QUEUE = "/queue/ledger.transactions.in"
DEFAULT_DLQ = "/queue/ledger.transactions.dlq"
DEFAULT_EVENTS_TOPIC = "/topic/ledger.events"


@dataclass(frozen=True)
class StompConfig:
    """One broker endpoint and the ingestion tuning. Defaults suit the local RabbitMQ."""

    host: str = "127.0.0.1"
    port: int = 61613
    username: str = "guest"
    password: str = "guest"
    vhost: str = "/"
    use_ssl: bool = False
    queue: str = DEFAULT_QUEUE
    dead_letter_queue: str = DEFAULT_DLQ
    events_topic: str = DEFAULT_EVENTS_TOPIC
    batch_size: int = 200
    """Most messages booked in one database transaction."""
    batch_wait_ms: int = 2
    """Longest a batch waits for more messages after its first one arrived. Batches
    grow by themselves under load (messages queue up while one commits), so a short
    wait keeps latency low; 0 takes only what has already arrived."""
    prefetch: int = 400
    """Unacknowledged messages the broker may push to this consumer (backpressure)."""
    heartbeat_ms: int = 10_000
    pacs008_channel: str = "PACS008"
    """The channel (first half of the idempotency key) of payments that arrive as pacs.008."""
    outbox: bool = True
    """Publish booked outcomes to ``events_topic`` from this process."""
    max_retry_delay_s: float = 5.0

    def describe(self) -> dict[str, object]:
        return {
            "broker": f"{'stomp+ssl' if self.use_ssl else 'stomp'}://{self.host}:{self.port}",
            "queue": self.queue,
            "dlq": self.dead_letter_queue,
            "batch_size": self.batch_size,
            "batch_wait_ms": self.batch_wait_ms,
            "prefetch": self.prefetch,
        }


def parse_stomp_url(url: str, problems: list[str], name: str = "LEDGER_STOMP_URL") -> StompConfig:
    """``stomp://user:password@host:port[/vhost]`` (``stomp+ssl://`` for TLS) to a config."""
    parts = urlsplit(url)
    if parts.scheme not in {"stomp", "stomp+ssl"}:
        problems.append(
            f"{name}: must look like stomp://user:password@host:61613, got scheme {parts.scheme!r}"
        )
        return StompConfig()
    default_port = 61614 if parts.scheme == "stomp+ssl" else 61613  # Amazon MQ: STOMP+TLS
    try:
        port = parts.port or default_port
    except ValueError:
        problems.append(f"{name}: the port is not a number")
        port = default_port
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return StompConfig(
        host=parts.hostname or "127.0.0.1",
        port=port,
        username=unquote(parts.username or "guest"),
        password=unquote(parts.password or "guest"),
        vhost=vhost,
        use_ssl=parts.scheme == "stomp+ssl",
    )


def stomp_config_from_env(env: Mapping[str, str], problems: list[str]) -> StompConfig | None:
    """The STOMP config, or None when ``LEDGER_STOMP_URL`` is unset (no broker)."""

    def get(key: str) -> str:
        return env.get(key, "").strip()

    url = get("LEDGER_STOMP_URL")
    if not url:
        return None
    base = parse_stomp_url(url, problems)
    batch = _positive(get("LEDGER_INGEST_BATCH_SIZE"), "LEDGER_INGEST_BATCH_SIZE", 200, problems)
    wait = _positive(
        get("LEDGER_INGEST_BATCH_WAIT_MS"), "LEDGER_INGEST_BATCH_WAIT_MS", 2, problems, low=0
    )
    prefetch = _positive(get("LEDGER_STOMP_PREFETCH"), "LEDGER_STOMP_PREFETCH", 2 * batch, problems)
    if prefetch < batch:
        problems.append(
            f"LEDGER_STOMP_PREFETCH: {prefetch} is below the batch size {batch}; "
            "batches could never fill"
        )
    heartbeat = _positive(
        get("LEDGER_STOMP_HEARTBEAT_MS"), "LEDGER_STOMP_HEARTBEAT_MS", 10_000, problems
    )
    destinations = {}
    for key, default, prefix in (
        ("LEDGER_STOMP_QUEUE", DEFAULT_QUEUE, "/queue/"),
        ("LEDGER_STOMP_DLQ", DEFAULT_DLQ, "/queue/"),
        ("LEDGER_STOMP_EVENTS_TOPIC", DEFAULT_EVENTS_TOPIC, "/topic/"),
    ):
        value = get(key) or default
        if not value.startswith(prefix) or len(value) == len(prefix):
            problems.append(f"{key}: must start with {prefix}, got {value!r}")
            value = default
        destinations[key] = value
    pacs008_channel = (get("LEDGER_PACS008_CHANNEL") or "PACS008").upper()
    if pacs008_channel in RESERVED_CHANNELS:
        problems.append(
            f"LEDGER_PACS008_CHANNEL: {pacs008_channel} is reserved for the ledger's own bookings"
        )
    outbox = (get("LEDGER_OUTBOX") or "on").lower()
    if outbox not in {"on", "off"}:
        problems.append(f"LEDGER_OUTBOX: must be on or off, got {outbox!r}")
    return StompConfig(
        host=base.host,
        port=base.port,
        username=base.username,
        password=base.password,
        vhost=base.vhost,
        use_ssl=base.use_ssl,
        queue=destinations["LEDGER_STOMP_QUEUE"],
        dead_letter_queue=destinations["LEDGER_STOMP_DLQ"],
        events_topic=destinations["LEDGER_STOMP_EVENTS_TOPIC"],
        batch_size=batch,
        batch_wait_ms=wait,
        prefetch=prefetch,
        heartbeat_ms=heartbeat,
        pacs008_channel=pacs008_channel,
        outbox=outbox != "off",
    )


def _positive(raw: str, name: str, default: int, problems: list[str], low: int = 1) -> int:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name}: must be an integer, got {raw!r}")
        return default
    if value < low:
        problems.append(f"{name}: must be at least {low}, got {value}")
        return default
    return value
