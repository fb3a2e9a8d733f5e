"""The reports context's model: a report run, recorded as an event (who produced which report,
with which parameters, as of which instant, and the sha256 of the file)."""
