"""projections.reconciliation.read_model: see docs/architecture.md for the layout."""
