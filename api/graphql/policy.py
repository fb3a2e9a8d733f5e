"""The schema class: how errors are logged and masked, and where executions run.

:class:`LedgerSchema` logs every error once (masked ones with their traceback, the rest by
code) and counts it in ``ledger_graphql_errors_total``; with an
:class:`~api.graphql.execution.ExecutionGate` it runs every execution off the server's event
loop, within the deadline and the principal's concurrency limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from api.graphql.errors import EXPECTED_ERRORS
from api.graphql.execution import DeadlineExceeded, ExecutionGate
from api.graphql.input_errors import mark_input_errors
from api.runtime.logs import get_logger

log = get_logger("api.graphql")

UNEXPECTED_MESSAGE = "Internal error; the server log has the details (see X-Correlation-Id)."


def should_mask(error: GraphQLError) -> bool:
    """Mask resolver failures we did not expect; keep validation and client errors."""
    original = error.original_error
    if original is None or error.path is None:
        return False
    return not isinstance(original, EXPECTED_ERRORS)


class LedgerSchema(strawberry.Schema):
    """The schema, with the execution policy of :mod:`api.graphql.execution`: given a
    ``gate``, every execution runs off the server's event loop, within the deadline and the
    principal's concurrency limit. ``hide_suggestions``: no "Did you mean" in variable errors."""

    def __init__(
        self, *, gate: ExecutionGate | None = None, hide_suggestions: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.gate = gate
        self.hide_suggestions = hide_suggestions

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        run = partial(
            super().execute,
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        if self.gate is None:
            return await run()
        principal = getattr(context_value, "principal", None)
        key = principal.name if principal is not None else "anonymous"
        try:
            return await self.gate.run(key, run)
        except DeadlineExceeded as error:
            deadline = GraphQLError(str(error), extensions={"code": "DEADLINE_EXCEEDED"})
            log.warning("graphql deadline exceeded", principal=key, seconds=error.seconds)
            metrics = getattr(context_value, "metrics", None)
            if metrics is not None:
                metrics.graphql_errors.labels("DEADLINE_EXCEEDED").inc()
            return ExecutionResult(data=None, errors=[deadline])

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        if self.hide_suggestions:
            kwargs["hide_suggestions"] = True
        return kwargs

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context = execution_context.context if execution_context is not None else None
        metrics = getattr(context, "metrics", None)
        document = execution_context.graphql_document if execution_context is not None else None
        mark_input_errors(errors, document)
        for error in errors:
            original = error.original_error
            extensions = error.extensions or {}
            if original is not None and error.path is not None and should_mask(error):
                code = "INTERNAL"
                log.error(
                    "graphql resolver failed",
                    path=".".join(str(p) for p in error.path),
                    exc_info=original,
                )
            else:
                code = str(extensions.get("code") or "GRAPHQL_VALIDATION_FAILED")
                log.info(
                    "graphql error",
                    code=code,
                    message=error.message,
                    path=".".join(str(p) for p in error.path or []) or None,
                )
            if metrics is not None:
                metrics.graphql_errors.labels(metrics.graphql_error_code(code)).inc()
