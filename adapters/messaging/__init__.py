"""The message-queue edge: STOMP ingestion of payments and publication of their outcomes.

``config`` parses ``LEDGER_STOMP_*``; ``connection`` wraps one stomp.py session (broker
flavour, receipts, acks); ``decoding`` turns a message body into payment instructions or
a typed dead-letter reason; ``consumer`` books batches exactly once in effect and
supervises the connection; ``outbox`` publishes booked outcomes from the event log.
"""
