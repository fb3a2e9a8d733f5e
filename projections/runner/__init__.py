"""The projector: feeds the event logs of the bounded contexts to the projections.

* :mod:`~projections.runner.sources`: :class:`EventSource`, one context's notification log;
* :mod:`~projections.runner.registry`: every projection by name (:data:`PROJECTIONS`), wired
  to the read ports one context offers another;
* :mod:`~projections.runner.batches`: a batch of events applied exactly once, in one
  read-model transaction with the tracking positions, and quarantine (issue #12);
* :mod:`~projections.runner.feed`: the feeder threads and the inbox that follow the logs;
* :mod:`~projections.runner.projector`: :class:`Projector`: catch up, rebuild, follow, status.

Import the names from those modules; this package re-exports nothing, so that a context
importing :class:`EventSource` does not import every projection with it.
"""
