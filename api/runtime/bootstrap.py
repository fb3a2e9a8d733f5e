"""The composition root: the one place that wires ports to adapters.

``bootstrap(settings, role=ROLE)`` builds what the process role uses and nothing else
(:data:`~api.runtime.contexts.ROLE_CONTEXTS` says which bounded contexts each role of
:mod:`api.runtime.roles` uses;
:func:`~api.runtime.contexts.contexts_needed` adds what those are built on). In order: the
database configuration (creating the PostgreSQL schema when one is named, with
``migrate=True``), the read-model engine, then each context the role uses
(:mod:`api.runtime.contexts`): the ledger; fraud (the ledger then screens through its model:
rules, blocklist and the promoted model, if any); identity (it carries out approved ledger
changes through :class:`~application.ledger.changes.LedgerChanges`); notifications (the rule
evaluator over the logs its rules listen to, and the sender); reconciliation (it matches
statements against the ledger's read models through
:class:`~projections.ledger.period_reader.LedgerPeriodReader`, which first brings them up
to the ledger's head: :meth:`Container.sync_ledger_read_models`). Then the projector over the
logs of the contexts built (with the audit chain) and, with ``migrate=True``, the tables and
the append-only triggers (tamper evidence).

A context opens its event store's connection pool when built, so a role opens pools only for
the contexts it uses (docs/operations.md, "Connections per role"); asking the container for a
context its role did not build raises :class:`~api.runtime.contexts.ContextNotBuilt`. Role
``all`` (the default, and every CLI command) builds all five. Everything is built when the
function is called, never at import time; :meth:`Container.close` releases it in reverse
order (one :class:`~contextlib.ExitStack`).
"""

from __future__ import annotations

import threading
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from adapters.migration import install_schema, migration_lock, require_migrated
from adapters.persistence import DatabaseConfig, ensure_schema, event_store_env, read_model_engine
from api.runtime.contexts import (
    ROLE_CONTEXTS,
    ContextNotBuilt,
    FraudParts,
    IdentityParts,
    LedgerParts,
    NotificationParts,
    ReconciliationParts,
    build_fraud,
    build_identity,
    build_ledger,
    build_notifications,
    build_reconciliation,
    contexts_needed,
)
from api.runtime.settings import Settings
from api.runtime.vop_context import VopParts, build_vop
from application.errors import ReadModelsBehind
from application.fraud.app import FraudApplication
from application.fraud.cases import FraudCases
from application.fraud.claims import FraudClaims
from application.fraud.screening import ModelScreening
from application.identity.app import IdentityApplication
from application.ledger.app import LedgerApplication
from application.ledger.changes import LedgerChanges
from application.notifications.app import NotificationsApplication
from application.notifications.evaluation import RuleEvaluator
from application.notifications.sending import NotificationSender
from application.reconciliation.app import ReconciliationApplication
from application.unit_of_work import Clock, utc_now
from application.vop.app import VopApplication
from projections.fraud.queries import FraudQueries
from projections.identity.read_model import IdentityQueries
from projections.notifications.read_model import NotificationQueries
from projections.quarantine import QuarantineStore
from projections.queries import LedgerQueries
from projections.reconciliation.queries import ReconciliationQueries
from projections.runner.projector import Projector
from projections.runner.sources import EventSource
from projections.vop.cache import DirectoryCache
from projections.vop.checks import VopCheckQueries
from projections.vop.queries import DirectoryQueries

Parts = (
    LedgerParts | FraudParts | IdentityParts | NotificationParts | ReconciliationParts | VopParts
)


@dataclass
class Container:
    """What one process role uses, built once per process (or per test).

    The contexts are reached by their attributes (``container.ledger``, ``container.fraud``,
    ``container.fraud_queries`` ...); one the role did not build raises
    :class:`~api.runtime.contexts.ContextNotBuilt` naming the role and the context.
    """

    settings: Settings
    database: DatabaseConfig
    role: str
    """The role this container was built for (``all``: every context)."""
    read_engine: Engine
    projector: Projector
    """Over the logs of the contexts built (``sources``); runs in role ``all``/``projector``,
    elsewhere it answers status, lag and read-your-writes waits."""
    sources: list[EventSource]
    parts: dict[str, Parts] = field(default_factory=dict, repr=False)
    """The built contexts by name, in build order (:data:`~api.runtime.contexts.CONTEXTS`)."""
    projector_active: bool = False
    """True while a projector (thread here, or another process for role ``api``) follows the
    log, so a write may wait for its read models (read-your-writes) before answering."""
    tables_assumed: bool = False
    """Built with ``migrate=False``: the schema version was checked, nothing creates tables."""
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)
    _closed: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- the contexts ----------------------------------------------------------------

    @property
    def contexts(self) -> tuple[str, ...]:
        """The names of the contexts built, in build order."""
        return tuple(self.parts)

    def has(self, context: str) -> bool:
        return context in self.parts

    def _part(self, context: str, attribute: str) -> Any:
        try:
            return self.parts[context]
        except KeyError:
            raise ContextNotBuilt(self.role, context, attribute, self.parts) from None

    @property
    def ledger(self) -> LedgerApplication:
        parts: LedgerParts = self._part("ledger", "ledger")
        return parts.app

    @property
    def ledger_changes(self) -> LedgerChanges:
        """The ledger's side of maker-checker: checks, executes, and the reversal threshold."""
        parts: LedgerParts = self._part("ledger", "ledger_changes")
        return parts.changes

    @property
    def queries(self) -> LedgerQueries:
        """The ledger's read models."""
        parts: LedgerParts = self._part("ledger", "queries")
        return parts.queries

    @property
    def fraud(self) -> FraudApplication:
        parts: FraudParts = self._part("fraud", "fraud")
        return parts.app

    @property
    def fraud_cases(self) -> FraudCases:
        parts: FraudParts = self._part("fraud", "fraud_cases")
        return parts.cases

    @property
    def fraud_queries(self) -> FraudQueries:
        parts: FraudParts = self._part("fraud", "fraud_queries")
        return parts.queries

    @property
    def fraud_claims(self) -> FraudClaims:  # claims, scam reports, chargebacks; read: fraud_queries
        return self._part("fraud", "fraud_claims").claims

    @property
    def identity(self) -> IdentityApplication:
        """Users, roles and maker-checker requests; authentication calls ``identity.lookup``."""
        parts: IdentityParts = self._part("identity", "identity")
        return parts.app

    @property
    def identity_queries(self) -> IdentityQueries:
        parts: IdentityParts = self._part("identity", "identity_queries")
        return parts.queries

    @property
    def notifications(self) -> NotificationsApplication:
        """Deliveries of the notification rules (the ``notifications`` context)."""
        parts: NotificationParts = self._part("notifications", "notifications")
        return parts.app

    @property
    def notification_queries(self) -> NotificationQueries:
        parts: NotificationParts = self._part("notifications", "notification_queries")
        return parts.queries

    @property
    def notification_evaluator(self) -> RuleEvaluator:
        parts: NotificationParts = self._part("notifications", "notification_evaluator")
        return parts.evaluator

    @property
    def notification_sender(self) -> NotificationSender:
        parts: NotificationParts = self._part("notifications", "notification_sender")
        return parts.sender

    @property
    def reconciliation(self) -> ReconciliationApplication:
        """Statement imports and their breaks (matched against the ledger's read models)."""
        parts: ReconciliationParts = self._part("reconciliation", "reconciliation")
        return parts.app

    @property
    def reconciliation_queries(self) -> ReconciliationQueries:
        parts: ReconciliationParts = self._part("reconciliation", "reconciliation_queries")
        return parts.queries

    @property
    def vop(self) -> VopApplication:
        """The Verification of Payee responder (the ``vop`` context)."""
        parts: VopParts = self._part("vop", "vop")
        return parts.app

    @property
    def vop_directory(self) -> DirectoryQueries:
        parts: VopParts = self._part("vop", "vop_directory")
        return parts.directory

    @property
    def vop_cache(self) -> DirectoryCache | None:
        """The responder's directory cache (None: turned off)."""
        parts: VopParts = self._part("vop", "vop_cache")
        return parts.cache

    @property
    def vop_checks(self) -> VopCheckQueries:
        parts: VopParts = self._part("vop", "vop_checks")
        return parts.checks

    @property
    def applications(self) -> dict[str, Any]:
        """The event-sourced applications built, by context name."""
        return {name: parts.app for name, parts in self.parts.items()}

    # -- operations ------------------------------------------------------------------

    def heads(self) -> dict[str, int]:
        """The last notification id of every built context's event log (0 when empty)."""
        return {
            name: app.recorder.max_notification_id() or 0 for name, app in self.applications.items()
        }

    def wait_for_projections(self, timeout: float = 2.0) -> bool:
        """Wait until the read models include everything recorded so far (read-your-writes).

        Returns False at once when no projector is following the log, and after ``timeout``.
        """
        if not self.projector_active:
            return False
        return bool(self.projector.wait_for(self.heads(), timeout))

    def sync_ledger_read_models(self, timeout: float = 10.0) -> None:
        """Make the ledger's read models include everything the ledger recorded so far:
        wait for the projector following the log, or (no projector in this process: the CLI,
        the reconciliation role) catch up up to the ledger's head here. Two projectors
        serialise on their tracking rows, so catching up beside another process is safe."""
        head = {self.ledger.name: self.ledger.recorder.max_notification_id() or 0}
        if self.projector_active:
            if not self.projector.wait_for(head, timeout):
                raise ReadModelsBehind("the ledger's read models are behind the ledger")
            return
        self.projector.catch_up(until=head)

    def check_database(self) -> None:
        """Raise if the event store or the read-model database cannot be reached."""
        self.heads()
        with self.read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def warm_up(self) -> int:
        """Catch the fraud model's online features up with the ledger's log (when a model is
        promoted), before serving; returns the number of events read."""
        if not self.has("fraud"):
            return 0
        screening = self.ledger.screening
        if not isinstance(screening, ModelScreening):
            return 0
        with self.ledger._write_lock:
            return screening.warm_up()

    def close(self) -> None:
        """Release everything built, in reverse order (idempotent, thread-safe)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._stack.close()


def bootstrap(
    settings: Settings,
    *,
    role: str = "all",
    clock: Clock | None = None,
    migrate: bool = True,
) -> Container:
    """Build the container of process role ``role`` for ``settings``: only the contexts the
    role uses. ``clock`` is injectable for tests and demos. DDL runs only with
    ``migrate=True`` (``ledger migrate``, one-off admin commands, tests), and then under
    :func:`~adapters.migration.migration_lock`; ``migrate=False``
    (``ledger serve``) runs none and raises :class:`SchemaNotMigrated` first unless
    ``ledger migrate`` recorded this code's schema version."""
    if role not in ROLE_CONTEXTS:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLE_CONTEXTS)}")
    contexts = contexts_needed(ROLE_CONTEXTS[role], settings)
    database = settings.database_config()
    # All of the DDL (schema, event tables, read models, triggers) under the migration lock:
    # PostgreSQL's CREATE ... IF NOT EXISTS and CREATE OR REPLACE FUNCTION are not safe run
    # concurrently (IntegrityError on pg_type_typname_nsp_index, "tuple concurrently
    # updated"), so two one-off commands, or one and a `ledger migrate`, take turns.
    with migration_lock(database) if migrate else nullcontext():
        return _build(settings, role, contexts, database, clock or utc_now, migrate=migrate)


def _build(
    settings: Settings,
    role: str,
    contexts: tuple[str, ...],
    database: DatabaseConfig,
    now: Clock,
    *,
    migrate: bool,
) -> Container:
    """:func:`bootstrap`'s work, with the migration lock held when ``migrate``."""
    ensure_schema(database, create=migrate)
    if not migrate:
        require_migrated(database)

    def store_env(context: str) -> dict[str, str]:
        env = event_store_env(database, context)
        return env if migrate else {**env, "CREATE_TABLE": "n"}  # eventsourcing's switch

    with ExitStack() as stack:
        engine = read_model_engine(database)
        stack.callback(engine.dispose)  # released last
        quarantine = QuarantineStore(engine, table_exists=not migrate)
        parts: dict[str, Parts] = {}
        ledger: LedgerParts | None = None
        if "ledger" in contexts:
            ledger = build_ledger(settings, store_env("ledger"), now, engine, stack)
            parts["ledger"] = ledger
        if "fraud" in contexts:
            assert ledger is not None  # contexts_needed adds it
            parts["fraud"] = build_fraud(
                settings, store_env("fraud"), ledger, engine, quarantine, stack
            )
        if "identity" in contexts:
            assert ledger is not None
            parts["identity"] = build_identity(
                settings, store_env("identity"), ledger, now, engine, stack
            )
        if "notifications" in contexts:
            apps = {name: built.app for name, built in parts.items()}
            parts["notifications"] = build_notifications(
                settings, store_env("notifications"), apps, now, engine, quarantine, stack
            )
        if "reconciliation" in contexts:
            parts["reconciliation"] = build_reconciliation(
                store_env("reconciliation"), engine, stack
            )
        if "vop" in contexts:
            parts["vop"] = build_vop(
                settings,
                store_env("vop"),
                now,
                engine,
                stack,
                ledger_env=store_env("ledger"),
                ledger=ledger,
            )
        sources = [EventSource(built.app) for built in parts.values()]
        projector = Projector(
            engine,
            sources,
            batch_size=settings.projections.batch_size,
            poll_interval=settings.projections.poll_interval,
            chain=True,
        )
        container = Container(
            settings=settings,
            database=database,
            role=role,
            read_engine=engine,
            projector=projector,
            sources=sources,
            parts=parts,
            tables_assumed=not migrate,
        )
        if "reconciliation" in parts:
            reconciliation = parts["reconciliation"]
            assert isinstance(reconciliation, ReconciliationParts)
            reconciliation.ledger_side.before_read = container.sync_ledger_read_models
        if migrate:
            install_schema(container.applications.values(), projector, engine)
        else:
            projector.assume_tables()
        container._stack = stack.pop_all()
    return container
