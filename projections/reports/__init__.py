"""The reports context's read side: each report of the catalogue (application/reports) as a
generator of rows over the read models, as recorded at T, in keyset chunks (one short
transaction per chunk: nothing holds a transaction open while a client reads)."""
