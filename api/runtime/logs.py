"""Structured JSON logs: one renderer, correlation ids on every line, IBANs masked.

* :func:`configure_logging` routes structlog *and* the standard library (uvicorn, strawberry,
  eventsourcing) through one JSON renderer. Every line carries the correlation id bound for the
  request (:func:`bind_correlation_id`, done by the HTTP edge,
  :mod:`api.http.middleware.request_context`), and any IBAN anywhere in the line is masked
  (``DE89**************3000``).
* While a span is current, log lines carry its ``trace_id`` and ``span_id``, so a trace and
  its log lines join.

Metrics are :mod:`api.runtime.metrics`.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar, Token
from typing import Any

import structlog
from opentelemetry import trace as otel_trace

_CORRELATION_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

_correlation_id: ContextVar[str | None] = ContextVar("ledger_correlation_id", default=None)

# IBAN-shaped tokens: country, check digits, then 11-30 letters and digits, compact or printed
# in groups of four ("DE89 3704 0044 0532 0130 00"), 15 to 34 characters without the spaces.
# Upper case tokens are masked as they are, valid or not (a mistyped IBAN in an error message
# is still someone's account number). Lower or mixed case ones only when the check digits
# add up, so that lower-case hex (hashes, UUIDs without dashes) stays readable.
_ALNUM = "A-Za-z0-9"
_IBAN = re.compile(
    rf"(?<![{_ALNUM}])[A-Za-z]{{2}}[0-9]{{2}}"
    rf"(?:[{_ALNUM}]{{11,30}}|(?: [{_ALNUM}]{{4}}){{2,7}}(?: [{_ALNUM}]{{1,4}})?)"
    rf"(?![{_ALNUM}])"
)
_IBAN_LENGTHS = range(15, 35)
_NOT_MASKED = frozenset({"exc_info", "_record", "_from_structlog"})
"""Event-dict keys left alone: the exception (masked once rendered) and structlog's own."""


def _check_digits_ok(compact: str) -> bool:
    """ISO 13616 mod-97: the IBAN, first four characters moved to the end, letters as 10-35."""
    rearranged = (compact[4:] + compact[:4]).upper()
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def mask_iban(match: re.Match[str]) -> str:
    """``DE89370400440532013000`` -> ``DE89**************3000`` (country, check digits and the
    last four kept; the length kept too); anything that is not an IBAN comes back unchanged."""
    token = match.group(0)
    compact = token.replace(" ", "")
    if len(compact) not in _IBAN_LENGTHS:
        return token
    if token != token.upper() and not _check_digits_ok(compact):
        return token
    return f"{compact[:4]}{'*' * (len(compact) - 8)}{compact[-4:]}"


def mask_ibans(value: Any) -> Any:
    """``value`` with every IBAN inside it masked.

    Strings are searched; dicts, lists, tuples and sets are searched item by item (dict keys
    are names and stay); numbers, booleans and None stay as they are. Anything else is
    rendered with ``str`` first, as the JSON renderer would, so an object whose ``str`` is an
    IBAN (``domain.iban.Iban``) is masked as well.
    """
    if isinstance(value, str):
        return _IBAN.sub(mask_iban, value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {key: mask_ibans(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_ibans(item) for item in value]
    return _IBAN.sub(mask_iban, str(value))


def _mask_processor(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
    for key, value in list(event_dict.items()):
        if key not in _NOT_MASKED:
            event_dict[key] = mask_ibans(value)
    return event_dict


def _add_correlation_id(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
    correlation_id = _correlation_id.get()
    if correlation_id is not None:
        event_dict.setdefault("correlation_id", correlation_id)
    return event_dict


def _add_trace_id(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
    """The current span's trace and span ids (hex, as the tracing backend shows them)."""
    span_context = otel_trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", otel_trace.format_trace_id(span_context.trace_id))
        event_dict.setdefault("span_id", otel_trace.format_span_id(span_context.span_id))
    return event_dict


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def new_correlation_id(incoming: str | None = None) -> str:
    """``incoming`` when it is a sane id (printable, at most 128 characters), else a new one."""
    if incoming and _CORRELATION_OK.match(incoming):
        return incoming
    return str(uuid.uuid4())


def bind_correlation_id(correlation_id: str) -> Token[str | None]:
    """Every log line of this context carries ``correlation_id`` from now on; the token
    undoes it (:func:`reset_correlation_id`)."""
    return _correlation_id.set(correlation_id)


def reset_correlation_id(token: Token[str | None]) -> None:
    _correlation_id.reset(token)


def configure_logging(level: str = "INFO", *, stream: Any = None) -> None:
    """JSON lines on stderr for structlog and stdlib loggers alike. Call once at startup."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_correlation_id,
        _add_trace_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_processor,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _mask_processor,
            structlog.processors.JSONRenderer(default=str),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # uvicorn's access log is replaced by ours (it has the route and correlation id).
    logging.getLogger("uvicorn.access").disabled = True
    stomp_logger = logging.getLogger("stomp.py")
    if not any(isinstance(f, _ConnectionLossWithoutTraceback) for f in stomp_logger.filters):
        stomp_logger.addFilter(_ConnectionLossWithoutTraceback())


class _ConnectionLossWithoutTraceback(logging.Filter):
    """stomp.py logs a broken connection while sending ("error sending frame") as an error with
    a traceback; the consumer and publishers handle it (they reconnect and the broker
    redelivers what was not acknowledged, logged as "broker session lost"). Such a record keeps
    its message and the error, as a warning, without the traceback that would read as a
    crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ConnectionError | TimeoutError):
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
