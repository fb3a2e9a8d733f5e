"""Application and domain errors as GraphQL errors with a clear message and a ``code``.

The code of each error is in the table shared with REST, :data:`api.errors.ERRORS`.

graphql-core copies an exception's ``extensions`` attribute into the error it reports, so
``{"message": "no account DE89...", "extensions": {"code": "NOT_FOUND"}}`` reaches the client.
Anything not translated here is unexpected and masked by the schema (no stack traces out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from api.errors import answer_for
from api.graphql.execution import offload
from api.security import Forbidden
from domain.causation import caused_by

P = ParamSpec("P")
R = TypeVar("R")


class ApiError(Exception):
    """An error the client caused or can act on; its message is shown as it is."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": code}


EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ApiError, Forbidden)


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise use-case and domain errors as :class:`ApiError` with their code from the
    one error table (:data:`api.errors.ERRORS`); anything else goes on as it is."""
    try:
        yield
    except EXPECTED_ERRORS:
        raise
    except Exception as error:
        answer = answer_for(error)
        if answer is None or answer.code is None:
            raise
        text = answer.message or str(error)
        message = f"{text}; try again" if answer.retry else text
        raise ApiError(message, answer.code) from None


def bad_input(message: str) -> ApiError:
    return ApiError(message, "BAD_USER_INPUT")


async def in_thread(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a blocking query or use case off the server's event loop (:func:`offload`),
    translating its errors."""
    with translated():
        return await offload(fn, *args, **kwargs)


async def write_through(info: Any, use_case: Callable[[], R]) -> R:
    """Run ``use_case`` in a worker thread under the request's causation, then give the
    projector a moment so nested read-model fields see the write (read-your-writes)."""
    context = info.context
    who = context.causation()

    def run() -> R:
        with caused_by(who):
            result = use_case()
        context.container.wait_for_projections(timeout=2.0)
        return result

    return await in_thread(run)


def checked(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call a quick, non-blocking validator, translating its errors."""
    with translated():
        return fn(*args, **kwargs)
