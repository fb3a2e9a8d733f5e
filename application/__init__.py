"""Use cases: one eventsourcing Application per bounded context, and their ports."""
