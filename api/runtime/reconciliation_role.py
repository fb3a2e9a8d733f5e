"""The ``reconciliation`` role: statements in (inbox, GraphQL, CLI), matched and recorded.

:func:`import_statements` is the one way a camt.053 document gets in: read it (a malformed
one raises :class:`StatementError` and nothing is recorded), bring the ledger's read models up
to the ledger's head, then import each statement (idempotent per account and statement id).

:func:`reconciliation_workers` gives the role's background worker: a :class:`LoopWorker`
scanning the statement inbox (``LEDGER_RECONCILIATION_INBOX``, default
``<LEDGER_DATA_DIR>/reconciliation/inbox``).

Inbox convention: a producer writes ``<name>.xml.part`` and renames it to ``<name>.xml`` when
complete (a rename within one file system is atomic), so the worker never sees half a file:
it reads only ``*.xml``. Files are taken oldest first (modification time, then name).

Several replicas share one inbox. A worker first *claims* a file: an atomic rename into
``.claimed/<name>.<claim time>.<uuid>`` (a file another replica renamed first is skipped), and
from then on handles only the claimed file, never a name in the inbox (which the producer may
already have reused). Before reading, ``lstat``: a symlink or other non-regular entry (never
followed) and a file larger than the reader's limit go to ``rejected/`` unread. An imported
file moves to ``processed/``; a malformed one (or one in conflict with an earlier import) to
``rejected/`` beside a ``<name>.reason`` text file saying why. So does a file whose import
fails for any other reason (a bug, a value the reader let through): one file can never hold up
the ones behind it. Only a transient failure (:data:`TRANSIENT_ERRORS`: database unreachable
or timed out, conflicts exhausted, read models unable to catch up) returns the file to the
inbox; the worker logs it and tries again after its restart delay. Moves are a hard link then
an unlink, so they never overwrite: a name already taken gets a ``.1``, ``.2`` ... suffix.
A claim older than :data:`STALE_CLAIM_AFTER` (a crashed replica's) is returned to the inbox
by the next step of any replica (under another name when a newer file has taken its own).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventsourcing.persistence import InterfaceError, InternalError, OperationalError
from sqlalchemy import exc

from adapters.statements import camt053, read_camt053
from api.runtime.bootstrap import Container
from api.runtime.logs import get_logger
from api.runtime.workers import LoopWorker, Worker
from application.errors import ConcurrencyExhausted
from application.reconciliation.app import ImportOutcome, ReconciliationApplication
from domain.causation import Causation, caused_by
from domain.reconciliation.statement import StatementError
from projections.base import ProjectionError

log = get_logger("api.reconciliation")

SERVICE_ACTOR = "service:reconciliation"
INBOX_CHANNEL = "INBOX"
IDLE_WAIT = 2.0
FILES_PER_STEP = 20
CLAIMED = ".claimed"
STALE_CLAIM_AFTER = 600.0
"""Seconds after which a claimed file is taken for a crashed replica's and returned."""
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,  # eventsourcing's: connection lost, pool timeout, database locked
    InterfaceError,
    InternalError,
    exc.OperationalError,  # SQLAlchemy's (read models)
    exc.InterfaceError,
    ConcurrencyExhausted,  # conflicts exhausted, read models behind
    ProjectionError,  # the ledger's read models cannot catch up: no fault of this file
    OSError,  # ConnectionError, TimeoutError
)
"""Failures of an import that are not the file's fault: the file returns to the inbox and is
tried again. Any other exception rejects the file."""


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
    """One directory of incoming statements, with ``processed/``, ``rejected/`` and
    ``.claimed/`` in it. Safe with several replicas on one directory (see the module doc)."""

    def __init__(
        self,
        directory: Path,
        importer: Callable[[bytes], Any],
        *,
        files_per_step: int = FILES_PER_STEP,
        stale_claim_after: float = STALE_CLAIM_AFTER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.processed = directory / "processed"
        self.rejected = directory / "rejected"
        self.claimed = directory / CLAIMED
        self.importer = importer
        self.files_per_step = files_per_step
        self.stale_claim_after = stale_claim_after
        self.clock = clock

    def pending(self) -> list[Path]:
        """Complete statements waiting, oldest first (``*.xml.part`` are being written).
        Symlinks and other non-regular entries are listed too (never followed): handling
        rejects them."""
        found: list[tuple[int, str, Path]] = []
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        for entry in entries:
            if not entry.name.endswith(".xml") or entry.name.startswith("."):
                continue
            try:
                mtime = entry.stat(follow_symlinks=False).st_mtime_ns
            except FileNotFoundError:
                continue  # taken meanwhile by another replica
            found.append((mtime, entry.name, Path(entry.path)))
        return [path for _mtime, _name, path in sorted(found)]

    def step(self) -> int:
        """Return stale claims, then claim and import up to ``files_per_step`` files; returns
        how many were handled."""
        for folder in (self.directory, self.processed, self.rejected, self.claimed):
            folder.mkdir(parents=True, exist_ok=True)
        self.release_stale_claims()
        handled = 0
        for path in self.pending()[: self.files_per_step]:
            claimed = self.claim(path)
            if claimed is None:
                continue  # another replica has it
            self.process(claimed)
            handled += 1
        return handled

    def claim(self, path: Path) -> Path | None:
        """Move ``path`` into ``.claimed/`` under a name no other replica can choose
        (``<name>.<claim time ns>.<uuid>``); None when another replica claimed it first."""
        target = self.claimed / f"{path.name}.{int(self.clock() * 1e9)}.{uuid.uuid4().hex}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        return target

    def process(self, claimed: Path) -> None:
        """Read, import and move one claimed file to ``processed/`` or ``rejected/``. A
        transient failure (:data:`TRANSIENT_ERRORS`) returns it to the inbox and is raised;
        any other rejects it."""
        name = _claimed_name(claimed)
        try:
            info = os.lstat(claimed)
        except FileNotFoundError:
            return  # returned to the inbox as stale by another replica
        if not stat.S_ISREG(info.st_mode):
            kind = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a regular file"
            self._reject(claimed, name, f"{name} is {kind}: not read")
            return
        limit = camt053.MAX_BYTES
        if info.st_size > limit:
            self._reject(claimed, name, f"statement is {info.st_size} bytes, the limit is {limit}")
            return
        try:
            data = read_regular_file(claimed, limit)
        except FileNotFoundError:
            return
        except StatementError as error:  # grown past the limit since the stat
            self._reject(claimed, name, error.reason)
            return
        except OSError as error:  # unreadable (permissions): back to the inbox, log it
            self._return(claimed, name)
            log.error("statement cannot be read", file=name, error=str(error))
            return
        causation = Causation(
            actor=SERVICE_ACTOR,
            correlation_id=f"inbox-{uuid.uuid4()}",
            channel=INBOX_CHANNEL,
        )
        try:
            with caused_by(causation):
                outcomes = self.importer(data)
        except StatementError as error:
            self._reject(claimed, name, error.reason)
            return
        except TRANSIENT_ERRORS:
            self._return(claimed, name)  # database down ...: tried again later
            raise
        except Exception as error:  # not transient: this file would fail again and again
            log.exception("statement import failed; rejected", file=name)
            self._reject(claimed, name, f"import failed: {type(error).__name__}: {error}")
            return
        except BaseException:  # interrupted (stop, KeyboardInterrupt): not the file's fault
            self._return(claimed, name)
            raise
        self._move(claimed, self.processed, name)
        for outcome in outcomes or ():
            rec = outcome.reconciliation
            log.info(
                "statement imported",
                file=name,
                reconciliation=str(rec.id),
                account=rec.account,
                statement=rec.statement_id,
                breaks=len(rec.breaks),
                new=outcome.created,
            )

    def release_stale_claims(self) -> int:
        """Return files claimed longer than ``stale_claim_after`` ago (by a replica that
        crashed) to the inbox; returns how many."""
        try:
            entries = list(os.scandir(self.claimed))
        except FileNotFoundError:
            return 0
        released = 0
        now_ns = int(self.clock() * 1e9)
        for entry in entries:
            claimed_at = _claimed_at(entry.name)
            if claimed_at is None:
                continue
            if now_ns - claimed_at < self.stale_claim_after * 1e9:
                continue
            # claim it again first, so only one replica returns it
            mine = self.claim(Path(entry.path))
            if mine is None:
                continue
            name = _claimed_name(Path(entry.path))
            self._return(mine, name)
            log.warning("stale claim returned to the inbox", file=name)
            released += 1
        return released

    # ------------------------------------------------------------------ moves

    def _reject(self, claimed: Path, name: str, reason: str) -> None:
        moved = self._move(claimed, self.rejected, name)
        if moved is not None:
            try:
                with moved.with_name(moved.name + ".reason").open("x", encoding="utf-8") as f:
                    f.write(reason + "\n")
            except OSError as error:
                log.error("reason not written", file=moved.name, error=str(error))
        log.warning("statement rejected", file=name, reason=reason)

    def _return(self, claimed: Path, name: str) -> None:
        """Back to the inbox under its name, or (a newer file has it) a unique one."""
        try:
            _link_away(claimed, self.directory / name)
        except FileExistsError:
            stem = name.removesuffix(".xml")
            _link_away(claimed, self.directory / f"{stem}.{uuid.uuid4().hex[:12]}.xml")

    @staticmethod
    def _move(claimed: Path, folder: Path, name: str) -> Path | None:
        """Move to ``folder/name``, or ``name.1``, ``name.2`` ... never overwriting."""
        for number in itertools.count():
            target = folder / (name if number == 0 else f"{name}.{number}")
            try:
                return _link_away(claimed, target)  # None: returned as stale meanwhile
            except FileExistsError:
                continue
        raise AssertionError("unreachable")  # pragma: no cover


def _link_away(source: Path, target: Path) -> Path | None:
    """Give ``source`` the name ``target`` unless taken (hard link, then unlink: atomic and
    never overwriting); returns the new path, None when ``source`` is gone. Raises
    FileExistsError when ``target`` is taken. Symlinks are moved as links, never followed; a
    directory (no hard links) is renamed to ``target`` with a unique suffix."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except PermissionError:  # a directory: rename to a name no one else can choose
        unique = target.with_name(f"{target.name}.{uuid.uuid4().hex[:12]}")
        try:
            os.rename(source, unique)
        except FileNotFoundError:
            return None
        return unique
    with contextlib.suppress(FileNotFoundError):
        os.unlink(source)
    return target


def read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file, never through a symlink; StatementError
    when it has grown past ``limit``."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise StatementError(f"statement is more than {limit} bytes")
    return data


def _claimed_at(claimed_name: str) -> int | None:
    parts = claimed_name.rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1])


def _claimed_name(claimed: Path) -> str:
    """The inbox name of a claimed file (``<name>.<ns>.<uuid>``)."""
    parts = claimed.name.rsplit(".", 2)
    return parts[0] if len(parts) == 3 else claimed.name


def statement_inbox(container: Container) -> StatementInbox:
    return StatementInbox(
        container.settings.reconciliation_inbox_dir,
        lambda data: import_statements(container, data),
    )


def reconciliation_workers(container: Container) -> list[Worker]:
    """The reconciliation role's worker: the statement inbox, scanned every ~2 s when idle."""
    inbox = statement_inbox(container)
    return [LoopWorker("reconciliation-inbox", inbox.step, idle_wait=IDLE_WAIT, restart_delay=5.0)]
