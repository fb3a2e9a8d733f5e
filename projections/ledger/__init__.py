"""projections.ledger: see docs/architecture.md for the layout."""
