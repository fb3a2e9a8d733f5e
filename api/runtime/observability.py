"""Former home of logging and metrics, now :mod:`api.runtime.logs` and
:mod:`api.runtime.metrics` (the HTTP middleware is :mod:`api.http.middleware.request_context`).

Kept only so that ``api/cli`` (split in parallel) keeps importing; new code imports the two
modules above. Delete this module once nothing imports it.
"""

from __future__ import annotations

from api.runtime.logs import (
    bind_correlation_id,
    configure_logging,
    current_correlation_id,
    get_logger,
    mask_iban,
    mask_ibans,
    new_correlation_id,
)
from api.runtime.metrics import HTTP_METHODS, OTHER_METHOD, Metrics, method_label

__all__ = [
    "HTTP_METHODS",
    "OTHER_METHOD",
    "Metrics",
    "bind_correlation_id",
    "configure_logging",
    "current_correlation_id",
    "get_logger",
    "mask_iban",
    "mask_ibans",
    "method_label",
    "new_correlation_id",
]
