"""projections.audit.trail: see docs/architecture.md for the layout."""
