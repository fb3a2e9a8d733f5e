"""``ledger accounts import FILE.csv``: open customer accounts from a CSV file.

Columns (header row required, order free, extra columns ignored):
``iban,holder_name,currency,overdraft_limit`` (``overdraft_limit`` may be empty: 0), and
optionally the holder details: ``holder_type`` (NATURAL, the default, or LEGAL),
``further_names`` (joint holders and trading names, separated by ``|``) and ``identifiers``
(a legal person's ``SCHEME:value`` pairs separated by ``|``, e.g.
``LEI:529900T8BM49AURSDO55|VAT:DE123456789``).
Each row is validated and opened on its own; a bad row is reported with its line number and
the import goes on. The caller exits non-zero when any row failed. A row the CSV reader cannot
read at all (a field above the reader's size limit) is reported the same way; bytes that are
not UTF-8 end the import (the text is decoded ahead of the reader, so the rows before the bad
bytes may be reported as not imported too; nothing after them can be read reliably).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field

from api.presentation import open_account_command
from application.errors import AlreadyExists, ApplicationError
from application.ledger.app import LedgerApplication
from domain.causation import Causation, caused_by
from domain.errors import DomainError

REQUIRED_COLUMNS = ("iban", "holder_name", "currency")
OPTIONAL_COLUMNS = ("overdraft_limit", "holder_type", "further_names", "identifiers")
LIST_SEPARATOR = "|"


def _names(cell: str | None) -> list[str]:
    return [part for part in (cell or "").split(LIST_SEPARATOR) if part.strip()]


def _identifiers(cell: str | None) -> list[tuple[str, str]]:
    """``SCHEME:value|SCHEME:value``; a part without ``:`` is a value without a scheme
    (refused by the validation, naming the field)."""
    pairs = []
    for part in _names(cell):
        scheme, sep, value = part.partition(":")
        pairs.append((scheme, value) if sep else ("", part))
    return pairs


@dataclass
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    opened: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class BadCsvFile(ValueError):
    """The file as a whole is unusable (no header, missing columns)."""


def import_accounts(
    ledger: LedgerApplication, lines: Iterable[str], causation: Causation
) -> ImportReport:
    """Open one account per data row of ``lines`` (a CSV text, e.g. an open file)."""
    reader = csv.reader(lines, skipinitialspace=True)
    header: list[str] = []
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [cell.strip().lower() for cell in row]
            break
    if not header:
        raise BadCsvFile("the file is empty; expected a header row " + ",".join(REQUIRED_COLUMNS))
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise BadCsvFile(
            f"missing column(s) {', '.join(missing)} in the header; expected "
            f"{','.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    report = ImportReport()
    line = reader.line_num
    rows = iter(reader)
    while True:
        line_of_row = line + 1  # a quoted field may span lines: report where the row starts
        try:
            cells = next(rows)
        except StopIteration:
            break
        except csv.Error as error:  # e.g. a field larger than the reader's limit
            report.errors.append(RowError(line_of_row, f"unreadable row: {error}"))
            line = reader.line_num
            continue
        except UnicodeDecodeError as error:
            stopped = f"the file is not UTF-8 ({error.reason}); rows from here on not imported"
            report.errors.append(RowError(line_of_row, stopped))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if len(cells) > len(header):
            report.errors.append(
                RowError(line_of_row, f"{len(cells)} fields, but the header has {len(header)}")
            )
            continue
        fields = dict(zip(header, cells, strict=False))
        try:
            command = open_account_command(
                iban=(fields.get("iban") or ""),
                holder_name=(fields.get("holder_name") or ""),
                currency=(fields.get("currency") or ""),
                overdraft_limit=fields.get("overdraft_limit"),
                holder_type=(fields.get("holder_type") or "").strip() or None,
                further_names=_names(fields.get("further_names")),
                identifiers=_identifiers(fields.get("identifiers")),
            )
            with caused_by(causation):
                account = ledger.open_account(command)
        except AlreadyExists as error:
            report.errors.append(RowError(line_of_row, str(error)))
        except (ApplicationError, DomainError) as error:
            report.errors.append(RowError(line_of_row, str(error)))
        else:
            report.opened.append(account.key)
    return report
