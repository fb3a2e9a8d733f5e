"""api.seed: see docs/architecture.md for the layout."""
