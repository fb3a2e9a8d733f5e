"""application.identity.app: see docs/architecture.md for the layout."""
