"""What one run of the demo did (printed by ``ledger demo``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class DemoReport:
    accounts_opened: int = 0
    accounts_existing: int = 0
    submitted: int = 0
    duplicates: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    released: int = 0
    rejected_after_review: int = 0
    reversed: int = 0
    settled: int = 0
    frozen: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    approved: int = 0
    """Change requests approved (and carried out) by a second person in this run."""
    pending: list[str] = field(default_factory=list)
    """Ids of the change requests this run left waiting for a checker."""
    events_projected: int = 0

    def final_statuses(self) -> dict[str, int]:
        return dict(sorted(self.by_status.items()))
