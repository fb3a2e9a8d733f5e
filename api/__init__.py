"""Entry points and composition root: settings, bootstrap, FastAPI app, CLI."""
