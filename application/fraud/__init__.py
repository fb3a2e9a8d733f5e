"""application.fraud.app: see docs/architecture.md for the layout."""
