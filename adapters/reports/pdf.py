"""Reports as PDF (reportlab): a title page (report, title, as-of, parameters, permission),
then the rows as a table over landscape A4 pages, each with its page number, closed by a
totals section (rows, and per currency the sums of the movement columns).

Reproducible: the canvas is ``invariant`` (fixed creation date and document id), and nothing
on a page says when it was generated, so the same report, as-of and parameters give the same
bytes. Rows are drawn one by one as they stream in; reportlab keeps the finished pages'
drawing operations until the file is saved (a few hundred bytes per row), so PDF suits
statements and summaries, not a million-row journal (use CSV there).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from adapters.reports.cells import text_of
from application.reports.catalogue import ReportRequest

PAGE = landscape(A4)
MARGIN = 36.0
LINE = 11.0
FONT, BOLD, SIZE = "Helvetica", "Helvetica-Bold", 7.0
BALANCES = frozenset({"balance", "balance_after", "opening", "closing", "threshold"})
"""Amount columns that are states, not movements: not summed in the totals."""
SUMMED_ROWS = frozenset({"line", "entry"})


def _fit(text: str, width: float, font: str = FONT) -> str:
    if stringWidth(text, font, SIZE) <= width:
        return text
    while text and stringWidth(text + "…", font, SIZE) > width:
        text = text[:-1]
    return text + "…"


class _Pages:
    def __init__(self, canvas: Canvas, request: ReportRequest) -> None:
        self.canvas = canvas
        self.request = request
        self.number = 1  # the title page
        self.y = 0.0
        columns = request.spec.columns
        width = PAGE[0] - 2 * MARGIN
        weights = [2.0 if c.kind in ("text",) else 1.4 for c in columns]
        unit = width / sum(weights)
        self.widths = [w * unit for w in weights]
        self.kinds = [c.kind for c in columns]

    def footer(self) -> None:
        c = self.canvas
        c.setFont(FONT, SIZE)
        spec = self.request.spec
        c.drawString(MARGIN, MARGIN / 2, f"{spec.title} as of {self.request.as_of.isoformat()}")
        c.drawRightString(PAGE[0] - MARGIN, MARGIN / 2, f"page {self.number}")

    def new_page(self) -> None:
        self.footer()
        self.canvas.showPage()
        self.number += 1
        self.y = PAGE[1] - MARGIN
        self.row([c.name for c in self.request.spec.columns], BOLD)

    def row(self, cells: list[str], font: str = FONT) -> None:
        if self.y < MARGIN + LINE:
            self.new_page()
        self.canvas.setFont(font, SIZE)
        x = MARGIN
        for text, width, kind in zip(cells, self.widths, self.kinds, strict=True):
            fitted = _fit(text, width - 4, font)
            if kind == "amount" and font == FONT:
                self.canvas.drawRightString(x + width - 4, self.y, fitted)
            else:
                self.canvas.drawString(x, self.y, fitted)
            x += width
        self.y -= LINE

    def line(self, text: str, font: str = FONT, size: float = SIZE) -> None:
        if self.y < MARGIN + LINE:
            self.new_page()
        self.canvas.setFont(font, size)
        self.canvas.drawString(MARGIN, self.y, text)
        self.y -= size * 1.6


def _title_page(canvas: Canvas, request: ReportRequest) -> None:
    spec = request.spec
    y = PAGE[1] - 3 * MARGIN
    canvas.setFont(BOLD, 22)
    canvas.drawString(MARGIN * 2, y, spec.title)
    canvas.setFont(FONT, 11)
    lines = [
        f"report: {spec.name}",
        f"as recorded at: {request.as_of.isoformat()}",
        f"parameters: {request.canonical_params or 'none'}",
        f"permission: {spec.permission}",
        "",
        *simpleSplit(spec.description, FONT, 11, PAGE[0] - 4 * MARGIN),
    ]
    for text in lines:
        y -= 18
        canvas.drawString(MARGIN * 2, y, text)


def write_pdf(request: ReportRequest, rows: Iterable[tuple[Any, ...]], out: Path) -> int:
    """The report as PDF; the number of rows."""
    canvas = Canvas(str(out), pagesize=PAGE, invariant=True, pageCompression=1)
    spec = request.spec
    canvas.setTitle(f"{spec.title} as of {request.as_of.isoformat()}")
    canvas.setSubject(request.canonical_params)
    canvas.setAuthor("backoffice-ledger")
    canvas.setCreator("backoffice-ledger")
    _title_page(canvas, request)
    pages = _Pages(canvas, request)
    pages.new_page()
    names = [c.name for c in spec.columns]
    currency_at = names.index("currency") if "currency" in names else None
    row_at = names.index("row") if "row" in names else None
    summed = [
        i for i, c in enumerate(spec.columns) if c.kind == "amount" and c.name not in BALANCES
    ]
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(summed))
    count = 0
    for values in rows:
        count += 1
        pages.row([text_of(v) for v in values])
        if currency_at is None or (row_at is not None and values[row_at] not in SUMMED_ROWS):
            continue
        acc = sums[values[currency_at]]
        for n, index in enumerate(summed):
            if values[index] is not None:
                acc[n] += values[index]
    pages.y -= LINE
    pages.line("Totals", BOLD, 11)
    pages.line(f"rows: {count}")
    for currency, totals in sorted(sums.items()):
        parts = [
            f"{spec.columns[i].name} {text_of(v)}" for i, v in zip(summed, totals, strict=True)
        ]
        pages.line(f"{currency}: " + ", ".join(parts))
    pages.footer()
    canvas.showPage()
    canvas.save()
    return count
