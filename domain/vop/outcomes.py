"""The outcome codes of the EPC VoP scheme, the rules that decide them and the thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Defaults for the similarity thresholds (0-100, rapidfuzz scale); the application passes its
# own from settings. A spelling difference is a close match unless the name is long enough for
# one letter to weigh under 2 %; below 85 (two letters in a ten-letter name) it is another name.
MATCH_THRESHOLD = 98.0
CLOSE_MATCH_THRESHOLD = 85.0


class Outcome(StrEnum):
    """A VoP answer, with the codes of the EPC VoP scheme (EPC218-23)."""

    MATCH = "MTCH"
    CLOSE_MATCH = "CMTC"  # the account holder's name is disclosed with it
    NO_MATCH = "NMTC"
    NOT_APPLICABLE = "NOAP"  # no check possible: unknown or closed account, no name data

    @property
    def rank(self) -> int:
        """MTCH > CMTC > NMTC > NOAP, to pick the best of several comparisons."""
        return _RANKS[self]


_RANKS = {
    Outcome.MATCH: 3,
    Outcome.CLOSE_MATCH: 2,
    Outcome.NO_MATCH: 1,
    Outcome.NOT_APPLICABLE: 0,
}


class Rule(StrEnum):
    """Which rule decided an outcome (for the check's event and for explaining it)."""

    EXACT = "exact"
    TOKEN_ORDER = "token_order"
    SPACING = "spacing"
    MISSING_NAME = "missing_name"
    INITIALS = "initials"
    ACRONYM = "acronym"
    SIMILARITY = "similarity"
    JOINT_HOLDERS = "joint_holders"
    IDENTIFIER = "identifier"
    NO_NAME_DATA = "no_name_data"
    NO_IDENTIFIER_DATA = "no_identifier_data"


class InvalidThresholds(ValueError):
    """The thresholds are not 0 <= close match <= match <= 100."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Similarity scores (0-100) from which a name is a match and a close match."""

    match: float = MATCH_THRESHOLD
    close_match: float = CLOSE_MATCH_THRESHOLD

    def __post_init__(self) -> None:
        if not 0 <= self.close_match <= self.match <= 100:
            raise InvalidThresholds(
                f"need 0 <= close_match ({self.close_match}) <= match ({self.match}) <= 100"
            )


DEFAULT_THRESHOLDS = Thresholds()
