"""application.ledger.app: see docs/architecture.md for the layout."""
