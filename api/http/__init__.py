"""api.http: see docs/architecture.md for the layout."""
