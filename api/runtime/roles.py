"""The process roles of the one image: what each runs (``ledger serve --role ROLE``).

In production every role is its own Deployment (the Helm chart's ``roles.*``), scaled on its
own; ``all`` (the default) runs everything in one process on the embedded default. A role is
the bounded contexts it uses (:data:`api.runtime.contexts.ROLE_CONTEXTS`: the only ones
:func:`api.runtime.bootstrap.bootstrap` builds, so the only event-store pools it opens), the
HTTP part it serves, whether it runs the projector and the STOMP ingestion, and the background
workers (:mod:`api.runtime.workers`) it starts. Roles that take no HTTP traffic still serve
``/healthz``, ``/readyz`` and ``/metrics`` for their probes and scraper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports the role names; nothing heavy at import time
    from api.runtime.bootstrap import Container
    from api.runtime.workers import Worker

WorkerBuilder = Callable[["Container"], list["Worker"]]


@dataclass(frozen=True)
class Role:
    name: str
    summary: str
    contexts: tuple[str, ...]
    """The bounded contexts the role calls (:data:`api.runtime.contexts.ROLE_CONTEXTS`);
    bootstrap builds these and what they are built on, and no other."""
    serves_api: bool = False
    """REST under /v1 and GraphQL (otherwise only the operations endpoints)."""
    runs_projector: bool = False
    ingestion: str = "no"
    """"yes": the STOMP consumer and outbox (a broker is required); "if-configured": only when
    LEDGER_STOMP_URL is set (role all); "no"."""
    workers: tuple[WorkerBuilder, ...] = field(default=())
    reads_projected: bool = False
    """Reads the read models while a projector runs in another process: a use case that needs
    them current (read-your-writes, a statement's matching) waits for that projector."""
    writes: bool = True
    """Its job needs a writable database (``/readyz`` is not ready on a read-only one, a
    standby). The api role's is to serve: on a standby (the secondary region) it serves reads
    and answers writes 503 ``DATABASE_READ_ONLY``, and stays ready."""
    serves_vop: bool = False
    """Serves the Verification of Payee responder ``/v1/vop`` (with ``serves_api`` False:
    only that, beside the operations endpoints)."""


def _role_table() -> dict[str, Role]:
    from api.runtime.contexts import ROLE_CONTEXTS as uses
    from api.runtime.fraud_role import fraud_workers
    from api.runtime.notifications_role import notification_workers
    from api.runtime.reconciliation_role import reconciliation_workers

    background = (fraud_workers, notification_workers, reconciliation_workers)
    return {
        "all": Role(
            "all",
            "everything in one process (the embedded default)",
            uses["all"],
            serves_api=True,
            runs_projector=True,
            ingestion="if-configured",
            workers=background,
        ),
        "api": Role(
            "api",
            "REST and GraphQL over the read models",
            uses["api"],
            serves_api=True,
            reads_projected=True,
            writes=False,
        ),
        "projector": Role(
            "projector",
            "keeps every read model current",
            uses["projector"],
            runs_projector=True,
        ),
        "ingestion": Role(
            "ingestion",
            "STOMP consumer and outbox publisher",
            uses["ingestion"],
            ingestion="yes",
        ),
        "fraud": Role(
            "fraud",
            "escalates fraud cases past the review deadline",
            uses["fraud"],
            workers=(fraud_workers,),
            reads_projected=True,
        ),
        "reconciliation": Role(
            "reconciliation",
            "imports core-banking statements from the inbox and reconciles them",
            uses["reconciliation"],
            workers=(reconciliation_workers,),
            reads_projected=True,
        ),
        "notifications": Role(
            "notifications",
            "rules over the event stream; deliveries to webhook, e-mail and STOMP",
            uses["notifications"],
            workers=(notification_workers,),
            reads_projected=True,
        ),
        "vop": Role(
            "vop",
            "the Verification of Payee responder /v1/vop (directory from the read model)",
            uses["vop"],
            reads_projected=True,
            serves_vop=True,
        ),
    }


ROLE_NAMES = (
    "all",
    "api",
    "projector",
    "ingestion",
    "fraud",
    "reconciliation",
    "notifications",
    "vop",
)
"""Kept equal to the table by a test (the table imports the workers lazily)."""


def role(name: str) -> Role:
    return _role_table()[name]


def build_workers(role_: Role, container: Container) -> list[Worker]:
    """The background workers of ``role_`` over ``container`` (not started)."""
    workers: list[Worker] = []
    for builder in role_.workers:
        workers.extend(builder(container))
    return workers
