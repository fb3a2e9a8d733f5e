"""Checking snapshots against the (hash-chained) event log.

An application loads an aggregate from its latest snapshot and the events after it, so a
snapshot is trusted as much as the events themselves. The hash chain covers only the events:
a snapshot INSERTed by someone with the application's database role (the append-only
triggers refuse UPDATE and DELETE, not INSERT) would change what the application loads
without breaking the chain. This module re-derives every stored snapshot from the events.

For each originator that has snapshots (read raw from the snapshots table, so that no row
escapes the check), the events are folded in version order, once (O(events), up to the last
snapshot's version); at each snapshot's version the aggregate rebuilt from the snapshot
(``snapshot.mutate(None)``) is compared with the folded aggregate, attribute by attribute
(``__dict__`` without ``_pending_events``: ``Snapshot.take`` pops ``_id``, ``_version`` and
``_pending_events`` and adds ``class_version``; ``mutate`` upcasts, pops ``class_version``
and restores ``_id`` and ``_version`` from the snapshot's originator id and version, with an
empty ``_pending_events``). Values are compared in their stored encoding (the application's
transcoder), the form in which a snapshot is kept: a tuple and the list it decodes to are
the same, ``Decimal("1.00")`` and ``Decimal("1.0")`` are not.

Problems, named by context, originator id and version:

* ``differs``: the snapshot's state is not the state the events fold to (attributes named);
* ``ahead``: the snapshot's version is beyond the originator's last event;
* ``orphan``: the originator has no events at all;
* ``unmatched``: no event has the snapshot's version (a version below 1);
* ``undecodable``: the row cannot be decoded or rebuilt into an aggregate;
* ``unfoldable``: the originator's events do not fold (should not happen to chained events).

The snapshots of an originator are read before its events, and an application records the
events before it snapshots them, so a snapshot taken while the check runs is never "ahead".
The fold uses each event's ``mutate`` (eventsourcing's default ``project_aggregate``); an
application that snapshots with ``snapshotting_projectors`` is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Recorder, StoredEvent
from eventsourcing.postgres import PostgresRecorder
from eventsourcing.sqlite import SQLiteRecorder
from psycopg.sql import SQL, Identifier

PAGE = 500
EVENT_PAGE = 1000
MAX_PROBLEMS = 100
"""Problems kept per context (all are counted): a flood of forged rows stays readable."""


@dataclass(frozen=True, slots=True)
class SnapshotProblem:
    """One snapshot that the events do not vouch for."""

    kind: str  # "differs" | "ahead" | "orphan" | "unmatched" | "undecodable" | "unfoldable"
    context: str
    originator_id: str
    version: int
    detail: str
    attributes: tuple[str, ...] = ()

    def describe(self) -> str:
        return (
            f"{self.context} snapshots: BAD snapshot of originator {self.originator_id} "
            f"v{self.version} ({self.kind}): {self.detail}"
        )


@dataclass(slots=True)
class SnapshotReport:
    """The check of one context's snapshots."""

    context: str
    enabled: bool  # the application has a snapshots table
    snapshots: int = 0  # rows checked
    originators: int = 0
    events: int = 0  # events folded
    problem_count: int = 0
    problems: list[SnapshotProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, problem: SnapshotProblem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def describe(self) -> list[str]:
        if not self.enabled:
            return [f"{self.context} snapshots: none (the context takes no snapshots)"]
        if self.ok:
            return [
                f"{self.context} snapshots: intact; {self.snapshots} snapshots of "
                f"{self.originators} originators match their {self.events} events"
            ]
        lines = [problem.describe() for problem in self.problems]
        hidden = self.problem_count - len(self.problems)
        if hidden:
            lines.append(f"{self.context} snapshots: ... and {hidden} more bad snapshots")
        lines.append(
            f"{self.context} snapshots: {self.problem_count} of {self.snapshots} snapshots "
            f"are not vouched for by the events"
        )
        return lines

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def verify_snapshots(applications: dict[str, Application[Any]]) -> list[SnapshotReport]:
    """Check every stored snapshot of every application (by context name)."""
    return [verify_application(name, app) for name, app in applications.items()]


def verify_application(context: str, app: Application[Any], page: int = PAGE) -> SnapshotReport:
    """Check every stored snapshot of ``app`` against its events."""
    if app.snapshots is None:
        return SnapshotReport(context, enabled=False)
    if type(app).snapshotting_projectors:
        raise TypeError(f"{context}: snapshots taken with snapshotting_projectors")
    report = SnapshotReport(context, enabled=True)
    for rows in _by_originator(_snapshot_rows(app.snapshots.recorder, page)):
        report.originators += 1
        report.snapshots += len(rows)
        _check_originator(context, app, rows, report)
    return report


def _check_originator(
    context: str, app: Application[Any], rows: list[StoredEvent], report: SnapshotReport
) -> None:
    snapshots: list[tuple[int, Any]] = []  # (version, aggregate rebuilt from the snapshot)
    originator_id: Any = None
    for row in rows:
        try:
            snapshot = app.mapper.to_domain_event(row)
            rebuilt = snapshot.mutate(None)  # type: ignore[attr-defined]
            if rebuilt is None:
                raise ValueError("the snapshot rebuilds no aggregate")
        except Exception as error:  # anything a forged row can raise
            report.add(
                SnapshotProblem(
                    "undecodable",
                    context,
                    str(row.originator_id),
                    row.originator_version,
                    f"the stored snapshot cannot be rebuilt: {type(error).__name__}: {error}",
                )
            )
            continue
        originator_id = snapshot.originator_id
        snapshots.append((row.originator_version, rebuilt))
    if not snapshots:
        return
    name = str(originator_id)
    last = snapshots[-1][0]
    pending = iter(snapshots)
    current = next(pending, None)
    aggregate: Any = None
    version = 0
    try:
        for event in _events(app, originator_id, last, EVENT_PAGE):
            aggregate = event.mutate(aggregate)  # type: ignore[attr-defined]
            version = event.originator_version
            report.events += 1
            while current is not None and current[0] <= version:
                if current[0] < version:
                    report.add(_unmatched(context, name, current[0]))
                else:
                    differing = _differing(app, current[1], aggregate)
                    if differing:
                        report.add(
                            SnapshotProblem(
                                "differs",
                                context,
                                name,
                                current[0],
                                "the snapshot's state is not the state its events fold to; "
                                f"differing: {', '.join(differing)}",
                                tuple(differing),
                            )
                        )
                current = next(pending, None)
    except Exception as error:  # a broken log is reported, not raised
        report.add(
            SnapshotProblem(
                "unfoldable",
                context,
                name,
                version + 1,
                f"the events do not fold: {type(error).__name__}: {error}",
            )
        )
        return
    while current is not None:
        if version == 0:
            report.add(
                SnapshotProblem("orphan", context, name, current[0], "the originator has no events")
            )
        else:
            report.add(
                SnapshotProblem(
                    "ahead",
                    context,
                    name,
                    current[0],
                    f"the snapshot is beyond the originator's last event (v{version})",
                )
            )
        current = next(pending, None)


def _events(app: Application[Any], originator_id: Any, last: int, page: int) -> Iterator[Any]:
    """The originator's events up to version ``last``, in version order, read in pages."""
    after = 0
    while after < last:
        batch = list(app.events.get(originator_id, gt=after, lte=last, limit=page))
        yield from batch
        if len(batch) < page:
            return
        after = batch[-1].originator_version


def _unmatched(context: str, name: str, version: int) -> SnapshotProblem:
    return SnapshotProblem("unmatched", context, name, version, "no event has this version")


def _differing(app: Application[Any], rebuilt: Any, folded: Any) -> list[str]:
    """The names of the attributes in which ``rebuilt`` and ``folded`` differ."""
    if type(rebuilt) is not type(folded):
        return ["(type)"]
    left = {k: v for k, v in vars(rebuilt).items() if k != "_pending_events"}
    right = {k: v for k, v in vars(folded).items() if k != "_pending_events"}
    encode = app.mapper.transcoder.encode
    differing = []
    for name in sorted(left.keys() | right.keys()):
        if name not in left or name not in right:
            differing.append(name)
            continue
        try:
            same = encode(left[name]) == encode(right[name])
        except Exception:  # not encodable: compare the values
            same = bool(left[name] == right[name])
        if not same:
            differing.append(name)
    return differing


def _by_originator(rows: Iterator[tuple[Any, StoredEvent]]) -> Iterator[list[StoredEvent]]:
    """Consecutive rows of one originator (the rows come ordered by raw originator id)."""
    group: list[StoredEvent] = []
    key: Any = None
    for raw_id, row in rows:
        if group and raw_id != key:
            yield group
            group = []
        key = raw_id
        group.append(row)
    if group:
        yield group


def _snapshot_rows(recorder: Recorder, page: int) -> Iterator[tuple[Any, StoredEvent]]:
    """Every row of the snapshots table as stored (raw originator id, row), ordered by
    originator id and version, read in pages."""
    after: tuple[Any, int] | None = None
    while True:
        rows = _page(recorder, after, page)
        for raw_id, version, topic, state in rows:
            yield (
                raw_id,
                StoredEvent(_convert_id(recorder, raw_id), int(version), topic, bytes(state)),
            )
        if len(rows) < page:
            return
        after = (rows[-1][0], int(rows[-1][1]))


def _convert_id(recorder: Recorder, raw_id: Any) -> Any:
    """The originator id as the recorder returns it (SQLite keeps UUIDs as hex text)."""
    if isinstance(recorder, SQLiteRecorder):
        try:
            return recorder.convert_originator_id(raw_id)
        except (ValueError, TypeError, AttributeError):
            return raw_id
    return raw_id


def _page(recorder: Recorder, after: tuple[Any, int] | None, page: int) -> list[tuple[Any, ...]]:
    """One page of raw snapshot rows after the key ``after``."""
    table = str(getattr(recorder, "events_table_name", ""))
    columns = "originator_id, originator_version, topic, state"
    if isinstance(recorder, PostgresRecorder):
        query = SQL("SELECT " + columns + " FROM {schema}.{table}").format(
            schema=Identifier(recorder.datastore.schema), table=Identifier(table)
        )
        params: list[Any] = []
        if after is not None:
            query += SQL(" WHERE (originator_id, originator_version) > (%s, %s)")
            params.extend(after)
        query += SQL(" ORDER BY originator_id, originator_version LIMIT %s")
        params.append(page)
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(query, params)
            return [
                (r["originator_id"], r["originator_version"], r["topic"], r["state"])
                for r in cursor.fetchall()
            ]
    if isinstance(recorder, SQLiteRecorder):
        statement = f'SELECT {columns} FROM "{table}"'
        values: list[Any] = []
        if after is not None:
            statement += " WHERE (originator_id, originator_version) > (?, ?)"
            values.extend(after)
        statement += " ORDER BY originator_id, originator_version LIMIT ?"
        values.append(page)
        with recorder.datastore.transaction(commit=False) as sqlite_cursor:
            sqlite_cursor.execute(statement, values)
            return [
                (r["originator_id"], r["originator_version"], r["topic"], r["state"])
                for r in sqlite_cursor.fetchall()
            ]
    raise TypeError(f"no snapshot check for {type(recorder).__name__}")
