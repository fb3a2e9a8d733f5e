"""Tamper evidence in the database: append-only triggers on the event store and the chain."""
