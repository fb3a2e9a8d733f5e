"""Pure domain model: aggregates, value objects and domain errors.

Nothing here imports a framework, opens a connection or reads settings; the
event-sourcing base classes come from the ``eventsourcing`` library, which the
architecture treats as part of the modelling vocabulary.
"""
