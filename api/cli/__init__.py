"""api.cli.main: see docs/architecture.md for the layout."""
