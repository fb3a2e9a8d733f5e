"""STOMP settings: where the broker is, which destinations, how large a batch.

Read from ``LEDGER_STOMP_*`` by :mod:`api.runtime.settings.stomp`; :func:`parse_stomp_url`
turns the broker URL into a config, adding each problem to the caller's list.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

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
