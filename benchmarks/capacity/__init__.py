"""``python -m benchmarks.capacity``: the measured inputs of the capacity model (issue 14,
item 2; docs/capacity.md) and a scaled-down run that checks the model.

Why: one event table's inserts are serial (eventsourcing's PostgreSQL recorder takes
``LOCK TABLE ... IN EXCLUSIVE MODE`` in every insert transaction, so that notification ids
follow commit order for the projections). However many ingestion processes run, one table
takes at most ``payments per batch / serial time per batch``. Planning 10,000 or 100,000
payments/s needs that time, the WAL and CPU a payment costs, and evidence that the
arithmetic predicts what several writers really do.

* :mod:`.payments` books real payments through the ledger application and keeps their rows
  as templates: the benchmark's batches are the ledger's own events with fresh ids;
* :mod:`.recorder` is the production recorder with timestamps from PostgreSQL's clock at the
  lock grant and the INSERT's start, and ``EXPLAIN (ANALYZE, WAL)`` of a batch's INSERT;
* :mod:`.writers` runs 1..N writer processes on one table or on a table each;
* :mod:`.model` is the arithmetic: the bounds, the prediction, the plan for a target.

Nothing here is used by the product.
"""
