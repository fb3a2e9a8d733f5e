"""The bounded contexts a process may build, and one builder per context.

:func:`api.runtime.bootstrap.bootstrap` builds only the contexts its role uses
(:mod:`api.runtime.roles`) with these builders. Each context is built as one frozen bundle
(its application, its read-model queries and whatever else belongs to it), and each builder
registers what it opened on the bootstrap's :class:`~contextlib.ExitStack`, so that
:meth:`~api.runtime.bootstrap.Container.close` releases everything in reverse order and a
failure half-way through releases what was already built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from adapters.fraud.artifacts import ArtifactStore
from adapters.fraud.loader import ArtifactModelLoader
from adapters.fraud.payee_checks import ReadModelPayeeChecks
from adapters.notifications.email import EmailChannel
from adapters.notifications.positions import SqlPositionStore
from adapters.notifications.stomp import StompChannel
from adapters.notifications.webhook import WebhookChannel
from api.runtime.settings import Settings
from application.fraud.app import FraudApplication
from application.fraud.cases import FraudCases
from application.fraud.claims import FraudClaims
from application.fraud.features import OnlineFeatures, feature_topics, ledger_feed
from application.fraud.screening import ModelScreening, ModelSelector, ScoreThresholds
from application.fraud.shadow import ShadowScoring
from application.identity.app import IdentityApplication
from application.ledger.app import LedgerApplication
from application.ledger.changes import LedgerChanges, OverdraftCeilings, ReversalThresholds
from application.ledger.screening import RulesScreening
from application.notifications.app import NotificationsApplication
from application.notifications.evaluation import (
    RuleEvaluator,
    fraud_facts,
    ledger_facts,
    rule_topics,
)
from application.notifications.ports import ContextFeed, Facts, NotificationChannel
from application.notifications.sending import NotificationSender
from application.reconciliation.app import ReconciliationApplication
from application.unit_of_work import Clock
from domain.notifications.rules import Channel
from projections.fraud.queries import FraudQueries
from projections.identity.read_model import IdentityQueries
from projections.ledger.period_reader import LedgerPeriodReader
from projections.notifications.read_model import NotificationQueries
from projections.quarantine import QuarantineStore
from projections.queries import LedgerQueries
from projections.reconciliation.queries import ReconciliationQueries
from projections.vop.checks import VopCheckQueries

CONTEXTS = ("ledger", "fraud", "identity", "notifications", "reconciliation", "vop")
"""Every bounded context, in the order they are built (the ledger first: others use it)."""

ROLE_CONTEXTS: dict[str, tuple[str, ...]] = {
    "all": CONTEXTS,
    "api": CONTEXTS,  # REST and one GraphQL module per context; identity authenticates people
    "projector": CONTEXTS,  # it follows every context's log
    "ingestion": ("ledger", "fraud"),  # books payments, screened by the fraud model
    "fraud": ("ledger", "fraud"),  # the escalation reads the held payment from the ledger
    "reconciliation": ("ledger", "reconciliation"),  # matches against the ledger's read models
    "notifications": ("notifications",),  # + the logs its rules listen to (contexts_needed)
    "vop": ("vop",),  # the responder: the directory is a read model, no ledger in the process
}
"""What each process role of :mod:`api.runtime.roles` calls: the contexts ``bootstrap`` builds
for it (every CLI command and ``uvicorn --factory`` use ``all``). Here rather than in the role
table so that bootstrap reads it without importing the roles' workers (which import it)."""

NEEDS_LEDGER = frozenset({"fraud", "identity", "reconciliation"})
"""Contexts built on the ledger: fraud screens its payments and acts on held ones, identity
carries out approved ledger changes, reconciliation matches against its read models."""


class ContextNotBuilt(RuntimeError):
    """A container was asked for a context its role does not build (see
    :mod:`api.runtime.roles`): a wiring mistake, reported by name instead of ``None``."""

    def __init__(self, role: str, context: str, attribute: str, built: Iterable[str]) -> None:
        have = ", ".join(built) or "none"
        super().__init__(
            f"role {role!r} does not build the {context} context (container.{attribute}); "
            f"it builds: {have} (api/runtime/roles.py)"
        )
        self.role = role
        self.context = context


def contexts_needed(uses: Iterable[str], settings: Settings) -> tuple[str, ...]:
    """The contexts to build for a role that uses ``uses``, in build order: with the ledger
    when a context built on it is used, and with the logs the notification rules listen to
    (and the ledger, for their facts) when notifications are used."""
    wanted = set(uses)
    unknown = wanted - set(CONTEXTS)
    if unknown:
        raise ValueError(f"unknown contexts {sorted(unknown)}; known: {list(CONTEXTS)}")
    if "notifications" in wanted:
        followed = set(rule_topics(settings.notifications.rules))
        wanted |= followed
        if followed & {"ledger", "fraud"}:
            wanted.add("ledger")  # ledger_facts and fraud_facts read the transaction
    if wanted & NEEDS_LEDGER:
        wanted.add("ledger")
    return tuple(context for context in CONTEXTS if context in wanted)


def small_pool(env: dict[str, str], size: int, overflow: int) -> dict[str, str]:
    """``env`` with a small PostgreSQL pool, for a context that writes seldom or from one or
    two workers (reconciliation, notifications): eventsourcing opens its pool's minimum at
    once, and every connection counts against the server's limit."""
    if "POSTGRES_POOL_SIZE" not in env:
        return env
    return {**env, "POSTGRES_POOL_SIZE": str(size), "POSTGRES_MAX_OVERFLOW": str(overflow)}


# --------------------------------------------------------------------------- ledger


@dataclass(frozen=True)
class LedgerParts:
    app: LedgerApplication
    changes: LedgerChanges
    """The ledger's side of maker-checker: checks, executes, and the reversal threshold."""
    queries: LedgerQueries


def build_ledger(
    settings: Settings, env: dict[str, str], clock: Clock, engine: Engine, stack: ExitStack
) -> LedgerParts:
    """The ledger, screening with the amount rules (the fraud context, when built, puts its
    model screening in their place)."""
    app = LedgerApplication(
        env=env, screening=RulesScreening(settings.ledger.amount_limits()), clock=clock
    )
    stack.callback(app.close)
    changes = LedgerChanges(
        app,
        ReversalThresholds(settings.ledger.reversal_approval_above),
        OverdraftCeilings(settings.ledger.overdraft_approval_above),
    )
    return LedgerParts(app, changes, LedgerQueries(engine))


# --------------------------------------------------------------------------- fraud


@dataclass(frozen=True)
class FraudParts:
    app: FraudApplication
    cases: FraudCases
    queries: FraudQueries
    claims: FraudClaims


def build_fraud_screening(
    settings: Settings, fraud: FraudApplication, ledger: LedgerApplication
) -> ModelScreening:
    """The promoted model (artifacts under the data dir) beside the rules and blocklist;
    online features follow the ledger's event log."""
    selector = ModelSelector(
        fraud.promoted_version, ArtifactModelLoader(ArtifactStore(settings.data_dir / "models"))
    )
    fraud.registry_listeners.append(selector.invalidate)
    thresholds = ScoreThresholds(settings.fraud.review_score, settings.fraud.decline_score)
    shadow = ShadowScoring(
        fraud.challenger_version,
        ArtifactModelLoader(ArtifactStore(settings.data_dir / "models")),
        thresholds.outcome,
    )
    fraud.registry_listeners.append(shadow.invalidate)
    return ModelScreening(
        RulesScreening(settings.ledger.amount_limits()),
        selector,
        thresholds=thresholds,
        blocklist=settings.fraud.blocklist,
        features=OnlineFeatures(ledger_feed(ledger, feature_topics())),
        shadow=shadow,
    )


def build_fraud(
    settings: Settings,
    env: dict[str, str],
    ledger: LedgerParts,
    engine: Engine,
    quarantine: QuarantineStore,
    stack: ExitStack,
) -> FraudParts:
    """The fraud context; the ledger screens through its model from now on."""
    app = FraudApplication(env=env)
    stack.callback(app.close)
    screening = build_fraud_screening(settings, app, ledger.app)
    screening.online.guard.quarantine = quarantine  # what its features cannot fold in
    screening.payee_checks = ReadModelPayeeChecks(VopCheckQueries(engine))  # VoP signal
    ledger.app.screening = screening
    return FraudParts(
        app,
        FraudCases(app, ledger.app, ledger.changes),
        FraudQueries(engine),
        FraudClaims(app, ledger.app),
    )


# --------------------------------------------------------------------------- identity


@dataclass(frozen=True)
class IdentityParts:
    app: IdentityApplication
    """Users, roles and maker-checker requests; authentication calls ``identity.lookup``."""
    queries: IdentityQueries


def build_identity(
    settings: Settings,
    env: dict[str, str],
    ledger: LedgerParts,
    clock: Clock,
    engine: Engine,
    stack: ExitStack,
) -> IdentityParts:
    """Identity, carrying out approved ledger changes through ``ledger.changes``."""
    app = IdentityApplication(
        env=env,
        clock=clock,
        approval_ttl=timedelta(hours=settings.ledger.approval_ttl_hours),
        executor=ledger.changes,
    )
    stack.callback(app.close)
    return IdentityParts(app, IdentityQueries(engine))


# --------------------------------------------------------------------------- notifications


@dataclass(frozen=True)
class NotificationParts:
    app: NotificationsApplication
    """Deliveries of the notification rules."""
    queries: NotificationQueries
    evaluator: RuleEvaluator
    sender: NotificationSender


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
    env: dict[str, str],
    apps: dict[str, Any],
    clock: Clock,
    engine: Engine,
    quarantine: QuarantineStore,
    stack: ExitStack,
) -> NotificationParts:
    """The deliveries, the rule evaluator over the logs the active rules listen to (``apps``
    holds them: :func:`contexts_needed` built them) and the sender over the channels."""
    app = NotificationsApplication(env=small_pool(env, size=2, overflow=2))
    stack.callback(app.close)
    rules = settings.notifications.rules
    queries = NotificationQueries(engine)
    facts: dict[str, Facts] = {}
    if "ledger" in apps:
        get_transaction = apps["ledger"].get_transaction
        facts = {"ledger": ledger_facts(get_transaction), "fraud": fraud_facts(get_transaction)}
    feeds = [
        ContextFeed(
            context, ledger_feed(apps[context], topics), _head_of(apps[context]), facts.get(context)
        )
        for context, topics in rule_topics(rules).items()
    ]
    evaluator = RuleEvaluator(
        app,
        rules,
        feeds,
        SqlPositionStore(engine),
        clock=clock,
        start_at_head=settings.notifications.start == "now",
        quarantine=quarantine,
    )
    channels = notification_channels(settings)
    for channel in channels.values():
        close = getattr(channel, "close", None)
        if close is not None:
            stack.callback(close)
    sender = NotificationSender(
        app, rules, queries, channels, policy=settings.notifications.retry_policy(), clock=clock
    )
    return NotificationParts(app, queries, evaluator, sender)


# --------------------------------------------------------------------------- reconciliation


@dataclass(frozen=True)
class ReconciliationParts:
    app: ReconciliationApplication
    """Statement imports and their breaks (matched against the ledger's read models)."""
    queries: ReconciliationQueries
    ledger_side: LedgerPeriodReader
    """The ledger's read models as the reconciliation reads them; the container makes them
    current before each read (``before_read``)."""


def build_reconciliation(
    env: dict[str, str], engine: Engine, stack: ExitStack
) -> ReconciliationParts:
    ledger_side = LedgerPeriodReader(engine)
    app = ReconciliationApplication(env=small_pool(env, size=1, overflow=2), ledger=ledger_side)
    stack.callback(app.close)
    return ReconciliationParts(app, ReconciliationQueries(engine), ledger_side)
