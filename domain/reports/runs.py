"""A report run: one report produced as a file, recorded so that auditors can see who produced
which report, for which as-of instant and parameters, and verify the file by its hash.

The run is one ``ReportRun.Produced`` event; its actor, correlation id and channel come from
the causation in force (:class:`~domain.aggregate.AttributedAggregate`). Producing the same
report again records another run (with the same hash when the read models answer the same).
"""

from __future__ import annotations

import re
from datetime import datetime

from eventsourcing.domain import event

from domain.aggregate import AttributedAggregate
from domain.errors import DomainError

SHA256 = re.compile(r"[0-9a-f]{64}")


class InvalidReportRun(DomainError, ValueError):
    """A run that cannot be recorded (no report name, a malformed hash, a negative count)."""


class ReportRun(AttributedAggregate):
    """One produced report file."""

    @event("Produced")
    def __init__(
        self,
        report: str,
        params: str,
        as_of: datetime,
        file_format: str,
        rows: int,
        content_hash: str,
    ) -> None:
        self.report = report
        self.params = params
        """The parameters in their canonical text form (``name=value;...``)."""
        self.as_of = as_of
        self.file_format = file_format
        self.rows = rows
        self.content_hash = content_hash

    @classmethod
    def produced(
        cls,
        report: str,
        params: str,
        as_of: datetime,
        file_format: str,
        rows: int,
        content_hash: str,
    ) -> ReportRun:
        """A checked run: a report name, a format, rows >= 0 and a lower-case sha256 hex."""
        if not report.strip() or not file_format.strip():
            raise InvalidReportRun("a report run needs a report name and a file format")
        if rows < 0:
            raise InvalidReportRun(f"rows: must not be negative, got {rows}")
        if SHA256.fullmatch(content_hash) is None:
            raise InvalidReportRun("content_hash: expected a sha256 in lower-case hex")
        if as_of.tzinfo is None:
            raise InvalidReportRun("as_of: must carry a time zone")
        return cls(report, params, as_of, file_format, rows, content_hash)
