"""The ``reconciliation`` role: statements in (inbox, GraphQL, CLI), matched and recorded.

:func:`import_statements` is the one way a camt.053 document gets in: read it (a malformed
one raises :class:`StatementError` and nothing is recorded), bring the ledger's read models up
to the ledger's head, then import each statement (idempotent per account and statement id).

:func:`reconciliation_workers` gives the role's background worker: a :class:`LoopWorker`
scanning the statement inbox (``LEDGER_RECONCILIATION_INBOX``, default
``<LEDGER_DATA_DIR>/reconciliation/inbox``). The inbox's directory protocol (claims, moves,
replicas, what is rejected and what is retried) is
:class:`adapters.statements.inbox.StatementInbox`.
"""

from __future__ import annotations

from adapters.statements import read_camt053
from adapters.statements.inbox import StatementInbox
from api.runtime.bootstrap import Container
from api.runtime.workers import LoopWorker, Worker
from application.reconciliation.app import ImportOutcome, ReconciliationApplication

IDLE_WAIT = 2.0


def reconciliation_app(container: Container) -> ReconciliationApplication:
    return container.reconciliation  # ContextNotBuilt in a role without it


def import_statements(container: Container, data: bytes | str) -> list[ImportOutcome]:
    """Read a camt.053 document and import every statement in it (under the causation in
    force). Raises :class:`StatementError` for a malformed document, recording nothing."""
    app = reconciliation_app(container)
    statements = read_camt053(data)
    return [app.import_statement(statement) for statement in statements]


def statement_inbox(container: Container) -> StatementInbox:
    return StatementInbox(
        container.settings.reconciliation_inbox_dir,
        lambda data: import_statements(container, data),
    )


def reconciliation_workers(container: Container) -> list[Worker]:
    """The reconciliation role's worker: the statement inbox, scanned every ~2 s when idle."""
    inbox = statement_inbox(container)
    return [LoopWorker("reconciliation-inbox", inbox.step, idle_wait=IDLE_WAIT, restart_delay=5.0)]
