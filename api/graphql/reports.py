"""GraphQL for the reports: the catalogue (``reports``) and one report's rows as of T
(``report(name, asOf, params, first, after)``), keyset paginated like every connection.

A row's ``values`` are its cells as text in the order of the report's ``columns`` (the same
text as the CSV file: amounts fixed-point at the currency's scale, instants ISO 8601 UTC).
``first`` is bounded like every connection's (at most 200) and the document's cost is
estimated by :mod:`api.graphql.cost` before anything runs. Each report needs its own
permission (``reports:read`` for every report of the catalogue so far); an unknown report
name is refused with ``reports:read`` checked first, so the catalogue is not probed anonymously.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from adapters.reports.cells import text_of
from api.graphql.common import Connection, connection, page_size, paginate
from api.graphql.context import LedgerContext
from api.graphql.errors import ApiError, bad_input, checked, in_thread
from api.runtime.reports_context import reports_of, require_current_read_models
from application.reports.catalogue import (
    REPORTS,
    REPORTS_READ,
    ReportSpec,
    request,
    spec_of,
)
from application.unit_of_work import utc_now

Info = strawberry.Info[LedgerContext, None]
MAX_PARAMS = 16
"""Parameters one request may pass (every report takes fewer)."""


@strawberry.type
class ReportParameterInfo:
    name: str
    kind: str = strawberry.field(description="date, currency, account, amount, text, thresholds")
    required: bool
    default: str | None
    description: str


@strawberry.type
class ReportColumn:
    name: str
    kind: str = strawberry.field(description="text, amount, date, datetime")


@strawberry.type
class ReportInfo:
    name: str
    title: str
    description: str
    permission: str
    by_date: bool = strawberry.field(description="whether it covers a period (from, to)")
    parameters: list[ReportParameterInfo]
    columns: list[ReportColumn]

    @staticmethod
    def of(spec: ReportSpec) -> ReportInfo:
        return ReportInfo(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            permission=spec.permission,
            by_date=spec.by_date,
            parameters=[
                ReportParameterInfo(
                    name=p.name,
                    kind=p.kind.value,
                    required=p.required,
                    default=p.default,
                    description=p.help,
                )
                for p in spec.parameters
            ],
            columns=[ReportColumn(name=c.name, kind=c.kind) for c in spec.columns],
        )


@strawberry.input
class ReportParam:
    name: str
    value: str


@strawberry.type
class ReportRow:
    values: list[str | None] = strawberry.field(
        description="the cells in the order of the report's columns (null: empty)"
    )


def _row(values: tuple[object, ...]) -> ReportRow:
    return ReportRow(values=[None if v is None else text_of(v) for v in values])


@strawberry.type
class ReportsQuery:
    @strawberry.field(description="The report catalogue: names, parameters and columns")
    def reports(self, info: Info) -> list[ReportInfo]:
        info.context.authorize(REPORTS_READ)
        return [ReportInfo.of(spec) for spec in REPORTS.values()]

    @strawberry.field(description="A report's rows as recorded at asOf, keyset paginated")
    async def report(
        self,
        info: Info,
        name: str,
        as_of: datetime,
        params: list[ReportParam] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ReportRow]:
        try:
            spec = checked(spec_of, name)
        except ApiError:
            info.context.authorize(REPORTS_READ)  # a refusal first, then "no such report"
            raise
        info.context.authorize(spec.permission)
        given = list(params or ())
        if len(given) > MAX_PARAMS:
            raise bad_input(f"params: at most {MAX_PARAMS} entries")
        raw: dict[str, str] = {}
        for item in given:
            if item.name in raw:
                raise bad_input(f"params: {item.name} given twice")
            raw[item.name] = item.value
        wanted = checked(request, spec.name, raw, as_of, utc_now())
        container = info.context.container
        await in_thread(require_current_read_models, container)
        queries = reports_of(container).queries
        page = await in_thread(paginate, queries.page, wanted, page_size(first), after=after)
        return connection(page, _row)
