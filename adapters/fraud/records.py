"""Helpers for the lines of a ``payments.jsonl`` data set that both the evaluation and
``ledger fraud book`` read."""

from __future__ import annotations

import re

_EXTERNAL_ID = re.compile(r'"externalId"\s*:\s*"([^"\\]{1,64})"')


def external_id_in(line: str) -> str | None:
    """The ``externalId`` a line that is not valid JSON seems to carry, so that a report can
    name the record as well as its line; None when none is recognisable."""
    found = _EXTERNAL_ID.search(line)
    return found.group(1) if found else None
