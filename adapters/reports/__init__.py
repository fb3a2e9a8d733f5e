"""The reports context's writers: a report's rows as a file people open (CSV, XLSX), written
row by row and byte-identical for the same report, as-of and parameters."""
