"""``ledger fraud simulate``: labelled payments of a simulated bank (see :mod:`.generator`)."""

from adapters.fraud.simulation.generator import Simulator, simulate, to_record
from adapters.fraud.simulation.profiles import PROFILES, TYPOLOGIES, Profile, profile

__all__ = ["PROFILES", "TYPOLOGIES", "Profile", "Simulator", "profile", "simulate", "to_record"]
