"""application.reconciliation.app: see docs/architecture.md for the layout."""
