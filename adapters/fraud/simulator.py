"""The simulator moved to :mod:`adapters.fraud.simulation`; this name stays for its callers."""

from adapters.fraud.simulation import PROFILES, Simulator, profile, simulate, to_record

__all__ = ["PROFILES", "Simulator", "profile", "simulate", "to_record"]
