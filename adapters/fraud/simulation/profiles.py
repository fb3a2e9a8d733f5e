"""Simulator configurations (``ledger fraud simulate --profile NAME``).

A profile fixes everything that makes one simulated bank differ from another: the mix of
customer segments, the countries, the amount scale, the active hours, how often legitimate
look-alikes of fraud occur, the share of fraud and the parameters of each typology. The
model is trained on one profile and evaluated on another (``ledger fraud holdout``) so that
it is not judged on the very generator it learned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Profile:
    """The parameters of one simulated population."""

    name: str
    start: datetime
    home_countries: tuple[str, ...]
    foreign_countries: tuple[str, ...]
    segments: dict[str, float]
    """Weights of the customer segments: retail, salaried, student, business, traveller."""
    amount_scale: float = 1.0
    hour_shift: int = 0
    """Added to every customer's active hours (another time zone, other habits)."""
    lookalike_rate: float = 1.0
    """Multiplies the rates of the legitimate look-alikes of fraud."""
    fraud_cases_per: int = 30
    """One case of every typology per this many customers."""
    typologies: dict[str, float] = field(default_factory=dict)
    """Weight (cases per round) of each typology; 0 leaves it out."""
    night_share: float = 0.7
    """Share of account takeovers at night."""
    structuring_bands: tuple[tuple[float, float], ...] = ((9000, 9990), (4000, 4990))
    app_amounts: tuple[float, float] = (900, 9000)
    card_test_amounts: tuple[float, float] = (0.5, 5.0)
    romance_weeks: int = 4
    payee_check_share: float = 0.8
    """Share of payments (not standing orders, bulk files, payroll) with a VoP check."""


TYPOLOGIES: tuple[str, ...] = (
    "account_takeover",
    "remote_access_takeover",
    "app_scam",
    "investment_scam",
    "romance_scam",
    "invoice_redirection",
    "mule",
    "mule_chain",
    "card_testing",
    "distributed_card_testing",
    "structuring",
)
"""Every fraud typology the simulator knows (``typology`` of a record; ``legit`` otherwise)."""

DEFAULT = Profile(
    name="default",
    start=datetime(2026, 9, 1, tzinfo=UTC),
    home_countries=("DE", "FR", "NL", "ES", "IT", "AT", "BE"),
    foreign_countries=("GB", "LT", "PL", "RO", "PT", "IE"),
    segments={"retail": 0.35, "salaried": 0.3, "student": 0.12, "business": 0.1, "traveller": 0.13},
    typologies=dict.fromkeys(TYPOLOGIES, 1.0),
)

ALT = Profile(
    name="alt",
    start=datetime(2027, 2, 1, tzinfo=UTC),
    home_countries=("PL", "CZ", "SK", "HU", "SI", "HR"),
    foreign_countries=("DE", "NL", "CY", "MT", "LV", "EE", "BG"),
    segments={"retail": 0.2, "salaried": 0.25, "student": 0.2, "business": 0.2, "traveller": 0.15},
    amount_scale=0.6,
    hour_shift=-2,
    lookalike_rate=1.5,
    fraud_cases_per=40,
    typologies={**dict.fromkeys(TYPOLOGIES, 1.0), "romance_scam": 1.5, "card_testing": 0.5},
    night_share=0.45,
    structuring_bands=((4000, 4990), (9200, 9990), (14000, 14990)),
    app_amounts=(400, 6000),
    card_test_amounts=(0.1, 3.0),
    romance_weeks=6,
    payee_check_share=0.55,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (DEFAULT, ALT)}


def profile(name: str) -> Profile:
    """The profile called ``name``; a ``ValueError`` naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"profile: unknown {name!r}; known: {', '.join(PROFILES)}") from None
