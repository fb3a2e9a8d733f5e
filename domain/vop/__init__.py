"""Verification of Payee (EPC VoP scheme): name normalisation and matching, pure, and the
check event (:mod:`domain.vop.checks`).

The responder (:mod:`application.vop`) uses :func:`domain.vop.matching.match_payee` for the
decision; the requester side and the ``vop`` role come later (issue #15, docs/vop.md).
"""

from domain.vop.identifiers import IdentifierScheme, OrganisationId
from domain.vop.matching import AccountHolder, MatchResult, match_payee
from domain.vop.names import HolderKind, normalise_name
from domain.vop.outcomes import (
    CLOSE_MATCH_THRESHOLD,
    DEFAULT_THRESHOLDS,
    MATCH_THRESHOLD,
    Outcome,
    Rule,
    Thresholds,
)

__all__ = [
    "CLOSE_MATCH_THRESHOLD",
    "DEFAULT_THRESHOLDS",
    "MATCH_THRESHOLD",
    "AccountHolder",
    "HolderKind",
    "IdentifierScheme",
    "MatchResult",
    "OrganisationId",
    "Outcome",
    "Rule",
    "Thresholds",
    "match_payee",
    "normalise_name",
]
