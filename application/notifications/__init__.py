"""application.notifications.app: see docs/architecture.md for the layout."""
