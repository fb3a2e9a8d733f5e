"""projections.identity.read_model: see docs/architecture.md for the layout."""
