"""The composition root: the one place that wires ports to adapters.

``bootstrap(settings)`` builds, in order: the database configuration (creating the PostgreSQL
schema when one is named), the ledger, fraud and identity applications (the ledger screens
through the fraud model screening: rules, blocklist and the promoted model, if any; identity
carries out approved ledger changes through :class:`~application.ledger.changes.LedgerChanges`),
the read-model engine, the reconciliation application (it matches statements against the
ledger's read models through
:class:`~projections.reconciliation.read_model.LedgerPeriodReader`, which first brings them up
to the ledger's head: :meth:`Container.sync_ledger_read_models`), the queries, the projector
with its tables (and the audit chain), and the append-only triggers on the event tables and
the chain (tamper evidence). Everything is built when the function is called, never at import
time, and :meth:`Container.close` releases it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, text

from adapters.fraud.artifacts import ArtifactStore
from adapters.fraud.scoring import ArtifactModelLoader
from adapters.migration import install_schema, require_migrated
from adapters.notifications.email import EmailChannel
from adapters.notifications.positions import SqlPositionStore
from adapters.notifications.stomp import StompChannel
from adapters.notifications.webhook import WebhookChannel
from adapters.persistence import DatabaseConfig, ensure_schema, event_store_env, read_model_engine
from api.runtime.settings import Settings
from application.errors import ReadModelsBehind
from application.fraud.app import (
    FraudApplication,
    FraudCases,
    ModelScreening,
    ModelSelector,
    OnlineFeatures,
    ScoreThresholds,
    feature_topics,
    ledger_feed,
)
from application.identity.app import IdentityApplication
from application.ledger.app import LedgerApplication, utc_now
from application.ledger.changes import LedgerChanges, OverdraftCeilings, ReversalThresholds
from application.ledger.screening import RulesScreening
from application.notifications.app import (
    ContextFeed,
    Facts,
    NotificationChannel,
    NotificationsApplication,
    NotificationSender,
    RuleEvaluator,
    fraud_facts,
    ledger_facts,
    rule_topics,
)
from application.ports import Clock
from application.reconciliation.app import ReconciliationApplication
from domain.notifications.rules import Channel
from projections.fraud.read_model import FraudQueries
from projections.identity.read_model import IdentityQueries
from projections.ledger.queries import LedgerQueries
from projections.notifications.read_model import NotificationQueries
from projections.quarantine import QuarantineStore
from projections.reconciliation.read_model import LedgerPeriodReader, ReconciliationQueries
from projections.runner import EventSource, Projector


@dataclass
class Container:
    """Everything a process role needs, built once per process (or per test)."""

    settings: Settings
    database: DatabaseConfig
    ledger: LedgerApplication
    read_engine: Engine
    queries: LedgerQueries
    projector: Projector
    sources: list[EventSource]
    identity: IdentityApplication
    """Users, roles and maker-checker requests; authentication calls ``identity.lookup``."""
    identity_queries: IdentityQueries
    ledger_changes: LedgerChanges
    """The ledger's side of maker-checker: checks, executes, and the reversal threshold."""
    fraud: FraudApplication | None = None
    fraud_cases: FraudCases | None = None
    fraud_queries: FraudQueries | None = None
    notifications: NotificationsApplication | None = None
    """Deliveries of the notification rules (the ``notifications`` context)."""
    notification_queries: NotificationQueries | None = None
    notification_evaluator: RuleEvaluator | None = None
    notification_sender: NotificationSender | None = None
    reconciliation: ReconciliationApplication | None = None
    """Statement imports and their breaks (matched against the ledger's read models)."""
    reconciliation_queries: ReconciliationQueries | None = None
    projector_active: bool = False
    """True while a projector (thread here, or another process for role ``api``) follows the
    log, so a write may wait for its read models (read-your-writes) before answering."""
    tables_assumed: bool = False
    """Built with ``migrate=False``: the schema version was checked, nothing creates tables."""
    _closed: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def applications(self) -> dict[str, Any]:
        """The event-sourced applications by context name (one per bounded context)."""
        apps: dict[str, Any] = {self.ledger.name: self.ledger}
        if self.fraud is not None:
            apps[self.fraud.name] = self.fraud
        apps[self.identity.name] = self.identity
        if self.notifications is not None:
            apps[self.notifications.name] = self.notifications
        if self.reconciliation is not None:
            apps[self.reconciliation.name] = self.reconciliation
        return apps

    def heads(self) -> dict[str, int]:
        """The last notification id of every context's event log (0 when empty)."""
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
        screening = self.ledger.screening
        if not isinstance(screening, ModelScreening):
            return 0
        with self.ledger._write_lock:
            return screening.warm_up()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.ledger.close()
        if self.fraud is not None:
            self.fraud.close()
        self.identity.close()
        if self.notification_sender is not None:
            for channel in self.notification_sender.channels.values():
                close = getattr(channel, "close", None)
                if close is not None:
                    close()
        if self.notifications is not None:
            self.notifications.close()
        if self.reconciliation is not None:
            self.reconciliation.close()
        self.read_engine.dispose()


def build_ledger(settings: Settings, env: dict[str, str], clock: Clock) -> LedgerApplication:
    return LedgerApplication(
        env=env,
        screening=RulesScreening(settings.ledger.amount_limits()),
        clock=clock,
    )


def build_fraud_screening(
    settings: Settings, fraud: FraudApplication, ledger: LedgerApplication
) -> ModelScreening:
    """The promoted model (artifacts under the data dir) beside the rules and blocklist;
    online features follow the ledger's event log."""
    selector = ModelSelector(
        fraud.promoted_version, ArtifactModelLoader(ArtifactStore(settings.data_dir / "models"))
    )
    fraud.registry_listeners.append(selector.invalidate)
    return ModelScreening(
        RulesScreening(settings.ledger.amount_limits()),
        selector,
        thresholds=ScoreThresholds(settings.fraud.review_score, settings.fraud.decline_score),
        blocklist=settings.fraud.blocklist,
        features=OnlineFeatures(ledger_feed(ledger, feature_topics())),
    )


def notification_channels(settings: Settings) -> dict[Channel, NotificationChannel]:
    """The channels the settings configure (a channel no active rule uses is left out)."""
    used = settings.notifications.rules.channels()
    timeout = settings.notifications.timeout_seconds
    channels: dict[Channel, NotificationChannel] = {}
    if Channel.WEBHOOK in used and settings.notifications.webhook_secret:
        channels[Channel.WEBHOOK] = WebhookChannel(
            settings.notifications.webhook_secret, timeout=timeout
        )
    if Channel.EMAIL in used and settings.notifications.smtp is not None:
        channels[Channel.EMAIL] = EmailChannel(
            settings.notifications.smtp, settings.notifications.email_from, timeout=timeout
        )
    if Channel.STOMP in used and settings.stomp is not None:
        channels[Channel.STOMP] = StompChannel(settings.stomp, timeout=timeout)
    return channels


def _head_of(app: Any) -> Callable[[], int]:
    return lambda: int(app.recorder.max_notification_id() or 0)


def build_notifications(
    settings: Settings,
    notifications: NotificationsApplication,
    engine: Engine,
    quarantine: QuarantineStore,
    queries: NotificationQueries,
    apps: dict[str, Any],
    ledger: LedgerApplication,
    clock: Clock,
) -> tuple[RuleEvaluator, NotificationSender]:
    """The rule evaluator over the logs the active rules listen to, and the sender."""
    rules = settings.notifications.rules
    facts: dict[str, Facts] = {
        "ledger": ledger_facts(ledger.get_transaction),
        "fraud": fraud_facts(ledger.get_transaction),
    }
    feeds = []
    for context, topics in rule_topics(rules).items():
        app = apps[context]
        feeds.append(
            ContextFeed(
                context,
                ledger_feed(app, topics),
                _head_of(app),
                facts.get(context),
            )
        )
    evaluator = RuleEvaluator(
        notifications,
        rules,
        feeds,
        SqlPositionStore(engine),
        clock=clock,
        start_at_head=settings.notifications.start == "now",
        quarantine=quarantine,
    )
    sender = NotificationSender(
        notifications,
        rules,
        queries,
        notification_channels(settings),
        policy=settings.notifications.retry_policy(),
        clock=clock,
    )
    return evaluator, sender


def small_pool(env: dict[str, str], size: int, overflow: int) -> dict[str, str]:
    """``env`` with a small PostgreSQL pool, for a context that writes seldom or from one or
    two workers (reconciliation, notifications): eventsourcing opens its pool's minimum at
    once, every process of every role builds every context, and every connection counts
    against the server's limit."""
    if "POSTGRES_POOL_SIZE" not in env:
        return env
    return {**env, "POSTGRES_POOL_SIZE": str(size), "POSTGRES_MAX_OVERFLOW": str(overflow)}


def bootstrap(settings: Settings, *, clock: Clock | None = None, migrate: bool = True) -> Container:
    """Build the container for ``settings``; ``clock`` is injectable for tests and demos.
    DDL runs only with ``migrate=True`` (``ledger migrate``, one-off admin commands, tests);
    ``migrate=False`` (``ledger serve``) runs none and raises :class:`SchemaNotMigrated`
    first unless ``ledger migrate`` recorded this code's schema version."""
    database = settings.database_config()
    ensure_schema(database, create=migrate)
    if not migrate:
        require_migrated(database)

    def store_env(context: str) -> dict[str, str]:
        env = event_store_env(database, context)
        return env if migrate else {**env, "CREATE_TABLE": "n"}  # eventsourcing's switch

    ledger = build_ledger(settings, store_env("ledger"), clock or utc_now)
    fraud: FraudApplication | None = None
    identity: IdentityApplication | None = None
    notifications: NotificationsApplication | None = None
    reconciliation: ReconciliationApplication | None = None
    try:
        fraud = FraudApplication(env=store_env("fraud"))
        ledger.screening = build_fraud_screening(settings, fraud, ledger)
        changes = LedgerChanges(
            ledger,
            ReversalThresholds(settings.ledger.reversal_approval_above),
            OverdraftCeilings(settings.ledger.overdraft_approval_above),
        )
        identity = IdentityApplication(
            env=store_env("identity"),
            clock=clock or utc_now,
            approval_ttl=timedelta(hours=settings.ledger.approval_ttl_hours),
            executor=changes,
        )
        notifications = NotificationsApplication(
            env=small_pool(store_env("notifications"), size=2, overflow=2)
        )
        engine = read_model_engine(database)
        quarantine = QuarantineStore(engine, table_exists=not migrate)
        if isinstance(ledger.screening, ModelScreening):  # what its features cannot fold in
            ledger.screening.online.guard.quarantine = quarantine
        ledger_side = LedgerPeriodReader(engine)
        reconciliation = ReconciliationApplication(
            env=small_pool(store_env("reconciliation"), size=1, overflow=2),
            ledger=ledger_side,
        )
        sources = [
            EventSource(ledger),
            EventSource(fraud),
            EventSource(identity),
            EventSource(notifications),
            EventSource(reconciliation),
        ]
        projector = Projector(
            engine,
            sources,
            batch_size=settings.projections.batch_size,
            poll_interval=settings.projections.poll_interval,
            chain=True,
        )
        queries = LedgerQueries(engine)
        notification_queries = NotificationQueries(engine)
        evaluator, sender = build_notifications(
            settings,
            notifications,
            engine,
            quarantine,
            notification_queries,
            {"ledger": ledger, "fraud": fraud, "identity": identity},
            ledger,
            clock or utc_now,
        )
    except BaseException:
        ledger.close()
        if fraud is not None:
            fraud.close()
        if identity is not None:
            identity.close()
        if notifications is not None:
            notifications.close()
        if reconciliation is not None:
            reconciliation.close()
        raise
    container = Container(
        settings=settings,
        database=database,
        ledger=ledger,
        read_engine=engine,
        queries=queries,
        projector=projector,
        sources=sources,
        identity=identity,
        identity_queries=IdentityQueries(engine),
        ledger_changes=changes,
        fraud=fraud,
        fraud_cases=FraudCases(fraud, ledger, changes),
        fraud_queries=FraudQueries(engine),
        notifications=notifications,
        notification_queries=notification_queries,
        notification_evaluator=evaluator,
        notification_sender=sender,
        reconciliation=reconciliation,
        reconciliation_queries=ReconciliationQueries(engine),
        tables_assumed=not migrate,
    )
    ledger_side.before_read = container.sync_ledger_read_models
    try:
        if migrate:
            install_schema(container.applications.values(), projector, engine)
        else:
            projector.assume_tables()
    except BaseException:
        container.close()
        raise
    return container
