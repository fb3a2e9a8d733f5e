"""The identity bounded context: backoffice users, their roles, and maker-checker requests."""
