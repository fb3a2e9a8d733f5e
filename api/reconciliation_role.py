"""The ``reconciliation`` role: statements in (inbox, GraphQL, CLI), matched and recorded.

:func:`import_statements` is the one way a camt.053 document gets in: read it (a malformed
one raises :class:`StatementError` and nothing is recorded), bring the ledger's read models up
to the ledger's head, then import each statement (idempotent per account and statement id).

:func:`reconciliation_workers` gives the role's background worker: a :class:`LoopWorker`
scanning the statement inbox (``LEDGER_RECONCILIATION_INBOX``, default
``<LEDGER_DATA_DIR>/reconciliation/inbox``).

Inbox convention: a producer writes ``<name>.xml.part`` and renames it to ``<name>.xml`` when
complete (a rename within one file system is atomic), so the worker never sees half a file:
it reads only ``*.xml``. Files are taken oldest first (modification time, then name). An
imported file moves to ``processed/``; a malformed one to ``rejected/`` beside a
``<name>.reason`` text file saying why. A name already taken there gets a ``.1``, ``.2`` ...
suffix, so nothing is overwritten. Any other failure (database unreachable) leaves the file
in the inbox; the worker logs it and tries again after its restart delay. Two replicas on
one inbox are safe: an import is idempotent and a file already moved is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.statements import read_camt053
from api.bootstrap import Container
from api.observability import get_logger
from api.workers import LoopWorker, Worker
from application.reconciliation import ImportOutcome, ReconciliationApplication
from domain.causation import Causation, caused_by
from domain.reconciliation.statement import StatementError

log = get_logger("api.reconciliation")

SERVICE_ACTOR = "service:reconciliation"
INBOX_CHANNEL = "INBOX"
IDLE_WAIT = 2.0
FILES_PER_STEP = 20


def reconciliation_app(container: Container) -> ReconciliationApplication:
    if container.reconciliation is None:
        raise RuntimeError("the reconciliation is not available in this process")
    return container.reconciliation


def import_statements(container: Container, data: bytes | str) -> list[ImportOutcome]:
    """Read a camt.053 document and import every statement in it (under the causation in
    force). Raises :class:`StatementError` for a malformed document, recording nothing."""
    app = reconciliation_app(container)
    statements = read_camt053(data)
    return [app.import_statement(statement) for statement in statements]


class StatementInbox:
    """One directory of incoming statements, with ``processed/`` and ``rejected/`` in it."""

    def __init__(
        self,
        directory: Path,
        importer: Callable[[bytes], Any],
        *,
        files_per_step: int = FILES_PER_STEP,
    ) -> None:
        self.directory = directory
        self.processed = directory / "processed"
        self.rejected = directory / "rejected"
        self.importer = importer
        self.files_per_step = files_per_step

    def pending(self) -> list[Path]:
        """Complete statements waiting, oldest first (``*.xml.part`` are being written)."""
        if not self.directory.is_dir():
            return []
        found: list[tuple[int, str, Path]] = []
        for path in self.directory.glob("*.xml"):
            try:
                if path.is_file():
                    found.append((path.stat().st_mtime_ns, path.name, path))
            except FileNotFoundError:
                continue  # taken meanwhile by another replica
        return [path for _mtime, _name, path in sorted(found)]

    def step(self) -> int:
        """Import up to ``files_per_step`` files; returns how many were handled."""
        for folder in (self.directory, self.processed, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)
        handled = 0
        for path in self.pending()[: self.files_per_step]:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue  # taken meanwhile by another replica
            except OSError as error:  # unreadable (permissions): leave it, take the others
                log.error("statement cannot be read", file=path.name, error=str(error))
                continue
            causation = Causation(
                actor=SERVICE_ACTOR,
                correlation_id=f"inbox-{uuid.uuid4()}",
                channel=INBOX_CHANNEL,
            )
            try:
                with caused_by(causation):
                    outcomes = self.importer(data)
            except StatementError as error:
                moved = self._move(path, self.rejected)
                if moved is not None:
                    reason = moved.with_name(moved.name + ".reason")
                    reason.write_text(error.reason + "\n", encoding="utf-8")
                log.warning("statement rejected", file=path.name, reason=error.reason)
            else:
                self._move(path, self.processed)
                for outcome in outcomes or ():
                    rec = outcome.reconciliation
                    log.info(
                        "statement imported",
                        file=path.name,
                        reconciliation=str(rec.id),
                        account=rec.account,
                        statement=rec.statement_id,
                        breaks=len(rec.breaks),
                        new=outcome.created,
                    )
            handled += 1
        return handled

    @staticmethod
    def _move(path: Path, folder: Path) -> Path | None:
        target = folder / path.name
        number = 0
        while target.exists():
            number += 1
            target = folder / f"{path.name}.{number}"
        try:
            path.rename(target)
        except FileNotFoundError:
            return None  # moved by another replica
        return target


def statement_inbox(container: Container) -> StatementInbox:
    return StatementInbox(
        container.settings.reconciliation_inbox_dir,
        lambda data: import_statements(container, data),
    )


def reconciliation_workers(container: Container) -> list[Worker]:
    """The reconciliation role's worker: the statement inbox, scanned every ~2 s when idle."""
    inbox = statement_inbox(container)
    return [LoopWorker("reconciliation-inbox", inbox.step, idle_wait=IDLE_WAIT, restart_delay=5.0)]
