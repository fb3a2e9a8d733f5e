"""REST ``/v1/reports``: the report catalogue, and one report as a file download as recorded
at ``asOf`` (``GET /v1/reports/{name}?asOf=...&format=csv|xlsx&<parameter>=<value>...``).

Every query parameter other than ``asOf`` and ``format`` is a parameter of the report
(docs/reports.md); a bad one is answered 422 naming it, an unknown report 404. CSV is streamed
as it is read (chunks of keyset pages, no whole report in memory); XLSX is written to a
temporary file first (a zip cannot be streamed before it is complete), like camt.053 (the
customer statement, ``format=camt053``), and carries its sha256 in ``X-Content-SHA256``.
Each download is recorded as a report run (who, report, parameters,
as-of, sha256) in the reports context, visible in the audit trail.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from adapters.reports.files import UnknownFormat, csv_chunks, write_report
from api.http.deps import AsOf, ContainerDep, PrincipalDep, causation, require
from api.http.schemas import V1_RESPONSES
from api.runtime.reports_context import reports_of, require_current_read_models
from api.security import Permission, Principal, authorize
from application.reports.catalogue import REPORTS, UnknownReport, request, spec_of
from application.reports.parameters import ReportParameterError
from application.unit_of_work import utc_now
from domain.causation import caused_by

router = APIRouter(prefix="/v1", tags=["reports"], responses=V1_RESPONSES)

ReportsReader = Annotated[Principal, Depends(require(Permission.REPORTS_READ))]


def report_reader(name: Annotated[str, Path(max_length=64)], principal: PrincipalDep) -> Principal:
    """The caller, authorized for the report named in the path (each report names its
    permission; an unknown name needs ``reports:read`` before it is answered 404)."""
    try:
        spec = spec_of(name)
    except UnknownReport:
        authorize(principal, Permission.REPORTS_READ)
        raise
    return authorize(principal, spec.permission)


report_reader.permission = "the report's"  # type: ignore[attr-defined]  # for the route audit
ReportReader = Annotated[Principal, Depends(report_reader)]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "camt053": "application/xml",
    "pdf": "application/pdf",
}
SUFFIX = {"csv": "csv", "xlsx": "xlsx", "camt053": "xml", "pdf": "pdf"}
RESERVED = frozenset({"asOf", "format"})
MAX_QUERY_PARAMS = 16


@router.get("/reports", summary="The report catalogue")
def catalogue(principal: ReportsReader) -> list[dict[str, Any]]:
    return [
        {
            "name": spec.name,
            "title": spec.title,
            "description": spec.description,
            "permission": spec.permission,
            "byDate": spec.by_date,
            "parameters": [
                {
                    "name": p.name,
                    "kind": p.kind.value,
                    "required": p.required,
                    "default": p.default,
                    "description": p.help,
                }
                for p in spec.parameters
            ],
            "columns": [{"name": c.name, "kind": c.kind} for c in spec.columns],
        }
        for spec in REPORTS.values()
    ]


@router.get(
    "/reports/{name}",
    summary="A report as recorded at asOf, as a CSV, XLSX or camt.053 file",
    response_class=StreamingResponse,
    responses={
        200: {"content": {media: {} for media in MEDIA.values()}},
        404: {"description": "No report of that name"},
        422: {"description": "A parameter is missing or invalid; `detail` names it"},
    },
)
def download(
    http: Request,
    principal: ReportReader,
    container: ContainerDep,
    name: Annotated[str, Path(max_length=64)],
    as_of: AsOf = None,
    file_format: Annotated[str, Query(alias="format", max_length=16)] = "csv",
) -> Any:
    spec = spec_of(name)
    if file_format not in spec.formats:
        problem = str(UnknownFormat(file_format, spec.formats)).split(": ", 1)[1]
        raise ReportParameterError("format", problem)
    raw: dict[str, str] = {}
    items = http.query_params.multi_items()
    if len(items) > MAX_QUERY_PARAMS:
        raise ReportParameterError("query", f"at most {MAX_QUERY_PARAMS} parameters")
    for key, value in items:
        if key in RESERVED:
            continue
        if key in raw:
            raise ReportParameterError(key, "given twice")
        raw[key] = value
    wanted = request(spec.name, raw, as_of, utc_now())
    reports = reports_of(container)
    require_current_read_models(container)
    who = causation(http, principal)
    filename = f"{spec.name}-{wanted.as_of.strftime('%Y%m%dT%H%M%S%fZ')}.{SUFFIX[file_format]}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}

    def record(rows: int, digest: str) -> None:
        with caused_by(who):
            reports.app.record(wanted, file_format, rows, digest)

    if file_format == "csv":
        chunks = csv_chunks(
            wanted, (values for _, values in reports.queries.stream(wanted)), record
        )
        return StreamingResponse(chunks, media_type=MEDIA["csv"], headers=headers)
    handle, temp = tempfile.mkstemp(suffix=f".{SUFFIX[file_format]}")
    os.close(handle)
    path = FilePath(temp)
    try:
        rows, digest = write_report(wanted, reports.queries.stream(wanted), file_format, path)
        record(rows, digest)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=MEDIA[file_format],
        headers={**headers, "X-Content-SHA256": digest},
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
