"""Report files: CSV (stdlib) and XLSX (XlsxWriter in constant-memory mode), streamed from
the rows of :mod:`projections.reports`, with the sha256 of the bytes written.

Reproducibility: a file's bytes depend only on the report, its as-of instant and parameters.
Nothing in a file says when it was generated: the XLSX document properties carry the as-of
instant as their creation date (XlsxWriter then also dates every zip member 1980-01-01), and
cells are written in row order. The hash is of the file as written (:func:`sha256_of`).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from adapters.reports.camt053 import write_camt053
from adapters.reports.cells import text_of
from adapters.reports.pdf import write_pdf
from application.reports.catalogue import ReportRequest

FORMATS = ("csv", "xlsx", "pdf", "camt053")
XLSX_MAX_ROWS = 1_048_576
"""Rows of one worksheet (Excel's limit): a longer report continues on the next sheet."""

Progress = Callable[[int], None]


class UnknownFormat(ValueError):
    """A file format no writer produces (for this report)."""

    def __init__(self, name: str, known: tuple[str, ...] = FORMATS) -> None:
        super().__init__(f"format: {name!r} is not one of {', '.join(known)}")


def counted(
    rows: Iterable[tuple[Any, Any]], progress: Progress | None, every: int = 5000
) -> Iterator[tuple[Any, ...]]:
    """The rows' values, reporting the count so far to ``progress`` every ``every`` rows and
    at the end."""
    count = 0
    for _, values in rows:
        count += 1
        if progress is not None and count % every == 0:
            progress(count)
        yield values
    if progress is not None:
        progress(count)


def csv_chunks(
    request: ReportRequest,
    rows: Iterable[tuple[Any, ...]],
    done: Callable[[int, str], None] | None = None,
    size: int = 1 << 16,
) -> Iterator[bytes]:
    """The report as CSV bytes (header row, then one line per row, CRLF as RFC 4180, UTF-8),
    in chunks of about ``size`` bytes, for a streaming response; ``done(rows, sha256)`` is
    called once the last chunk is produced."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    digest = hashlib.sha256()
    writer.writerow([column.name for column in request.spec.columns])
    # csv writes None as empty and str/int/date as str(); only amounts and instants need
    # text_of (fixed-point, ISO 8601 with "T"): converting only those keeps rows cheap
    converted = [i for i, c in enumerate(request.spec.columns) if c.kind in ("amount", "datetime")]
    count = 0
    for values in rows:
        cells = list(values)
        for index in converted:
            cells[index] = text_of(cells[index])
        writer.writerow(cells)
        count += 1
        if buffer.tell() >= size:
            chunk = buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            digest.update(chunk)
            yield chunk
    chunk = buffer.getvalue().encode("utf-8")
    digest.update(chunk)
    yield chunk
    if done is not None:
        done(count, digest.hexdigest())


def write_csv(request: ReportRequest, rows: Iterable[tuple[Any, ...]], out: Path) -> int:
    """The report as a CSV file (:func:`csv_chunks`); its rows."""
    result: list[int] = []
    with out.open("wb") as handle:
        for chunk in csv_chunks(request, rows, lambda count, _: result.append(count)):
            handle.write(chunk)
    return result[0]


def write_xlsx(request: ReportRequest, rows: Iterable[tuple[Any, ...]], out: Path) -> int:
    """The report as XLSX: a "Report" sheet naming the report, as-of and parameters, then the
    rows on "Rows" (continued on "Rows 2", ... past Excel's row limit); its rows."""
    import xlsxwriter  # imported here: only a process that writes XLSX loads it

    spec = request.spec
    as_of = request.as_of.replace(tzinfo=None)
    workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_numbers": False})
    try:
        workbook.set_properties(
            {
                "title": spec.title,
                "subject": f"{spec.name} as of {request.as_of.isoformat()}",
                "author": "backoffice-ledger",
                "comments": request.canonical_params,
                "created": as_of,
            }
        )
        about = workbook.add_worksheet("Report")
        for index, (label, value) in enumerate(
            (
                ("report", spec.name),
                ("title", spec.title),
                ("as of (UTC)", request.as_of.isoformat()),
                ("parameters", request.canonical_params),
            )
        ):
            about.write_string(index, 0, label)
            about.write_string(index, 1, value)
        formats = _Formats(workbook)
        kinds = [column.kind for column in spec.columns]
        sheet, row_index, sheets, count = None, XLSX_MAX_ROWS, 0, 0
        for values in rows:
            if row_index >= XLSX_MAX_ROWS:
                sheets += 1
                sheet = workbook.add_worksheet("Rows" if sheets == 1 else f"Rows {sheets}")
                for col, column in enumerate(spec.columns):
                    sheet.write_string(0, col, column.name, formats.bold)
                row_index = 1
            assert sheet is not None
            for col, (kind, value) in enumerate(zip(kinds, values, strict=True)):
                _cell(sheet, row_index, col, kind, value, formats)
            row_index += 1
            count += 1
        if sheet is None:
            empty = workbook.add_worksheet("Rows")
            for col, column in enumerate(spec.columns):
                empty.write_string(0, col, column.name, formats.bold)
    finally:
        workbook.close()
    return count


class _Formats:
    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        self.bold = workbook.add_format({"bold": True})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss.000"})
        self.amounts: dict[int, Any] = {}

    def amount(self, value: Decimal) -> Any:
        places = max(0, -int(value.as_tuple().exponent))
        found = self.amounts.get(places)
        if found is None:
            pattern = "#,##0" + ("." + "0" * places if places else "")
            found = self.amounts[places] = self.workbook.add_format({"num_format": pattern})
        return found


def _cell(sheet: Any, row: int, col: int, kind: str, value: Any, formats: _Formats) -> None:
    if value is None:
        return
    if isinstance(value, Decimal):
        sheet.write_number(row, col, float(value), formats.amount(value))
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None), formats.datetime)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), formats.date)
    elif isinstance(value, int):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))


WRITERS: dict[str, Callable[[ReportRequest, Iterable[tuple[Any, ...]], Path], int]] = {
    "csv": write_csv,
    "xlsx": write_xlsx,
    "camt053": write_camt053,
    "pdf": write_pdf,
}


def write_report(
    request: ReportRequest,
    rows: Iterable[tuple[Any, Any]],
    fmt: str,
    out: Path,
    progress: Progress | None = None,
) -> tuple[int, str]:
    """Write the report's ``rows`` ((key, values) pairs) to ``out`` in ``fmt``; answers the
    number of rows and the sha256 (hex) of the file."""
    writer = WRITERS.get(fmt)
    if writer is None or fmt not in request.spec.formats:
        raise UnknownFormat(fmt, request.spec.formats)
    count = writer(request, counted(rows, progress), out)
    return count, sha256_of(out)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
