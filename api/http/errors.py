"""REST error answers: every error body is ``{"detail": "<readable message>"}``.

Application, domain and authorization errors answer with the status of the one error table
shared with GraphQL (:data:`api.errors.ERRORS`); a write a read-only database refused 503
``{"detail": ..., "code": "DATABASE_READ_ONLY"}``, one out of reach 503 ``DATABASE_UNAVAILABLE``
with ``Retry-After``; a body that is not JSON is 400, one that fails
validation 422 with each problem named; a rate limit 429 with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

import psycopg
import sqlalchemy.exc
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from api.errors import ERRORS, READ_ONLY, UNAVAILABLE, answer_for
from api.http.middleware.ratelimit import RateLimited
from api.security import Unauthenticated

DATABASE_ERRORS: tuple[type[Exception], ...] = (
    PersistenceError,  # eventsourcing's wrapping of the driver's errors
    sqlalchemy.exc.SQLAlchemyError,
    psycopg.Error,
)


class MalformedBody(Exception):
    """The body is not JSON at all (400), as opposed to JSON that fails validation (422)."""


def _error(status: int, detail: str, code: str | None = None, **headers: str) -> JSONResponse:
    body = {"detail": detail} if code is None else {"detail": detail, "code": code}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _readable(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in {"body", "query"})
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        return _error(400, "request body is not valid JSON")
    return _error(422, _readable(errors))


async def _malformed(_request: Request, exc: Exception) -> JSONResponse:
    return _error(400, str(exc))


async def _from_table(_request: Request, exc: Exception) -> JSONResponse:
    """The status of :data:`api.errors.ERRORS`; a retryable error says when to come back, a
    refused token how to authenticate."""
    answer = answer_for(exc)
    if answer is None:  # a database error other than a read-only refusal: unexpected (500)
        raise exc
    headers: dict[str, str] = {}
    if answer.retry:
        headers["Retry-After"] = "1"
    if answer in (READ_ONLY, UNAVAILABLE):  # the database's own message stays in the log
        return _error(answer.status, answer.message or str(exc), answer.code, **headers)
    if isinstance(exc, Unauthenticated):
        reason = str(exc).replace('"', "'")
        headers["WWW-Authenticate"] = (
            f'Bearer realm="backoffice-ledger", error="invalid_token", error_description="{reason}"'
        )
    return _error(answer.status, str(exc), **headers)


async def _rate_limited(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return _error(429, str(exc), **{"Retry-After": exc.retry_after_header})


def install_error_handlers(app: FastAPI) -> None:
    """Application and domain errors -> 4xx with a readable ``detail``; rate limit -> 429."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(MalformedBody, _malformed)
    for error_class in ERRORS:
        app.add_exception_handler(error_class, _from_table)
    # Database errors: a write refused by a read-only database (a standby) answers 503
    # DATABASE_READ_ONLY, a database out of reach 503 DATABASE_UNAVAILABLE; any other is
    # raised again, the generic 500.
    for error_class in DATABASE_ERRORS:
        app.add_exception_handler(error_class, _from_table)
    app.add_exception_handler(RateLimited, _rate_limited)
