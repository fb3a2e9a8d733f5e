"""api.runtime.tuning: see docs/architecture.md for the layout."""
