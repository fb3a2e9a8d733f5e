"""Statement readers: core-banking account statements into domain values."""

from adapters.statements.camt053 import read_camt053

__all__ = ["read_camt053"]
