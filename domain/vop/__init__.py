"""Verification of Payee (EPC VoP scheme): name normalisation and matching, pure.

The responder, requester, directory, events and the ``vop`` role come later (issue #15);
they use :func:`domain.vop.matching.match_payee` for the decision.
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
