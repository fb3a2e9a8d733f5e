"""Read side: projections (event -> read-model change), read-model tables, queries."""
