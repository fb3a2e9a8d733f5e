"""The reports context's use cases: the report catalogue (what each report is called, which
parameters it takes and how they are validated), and the record of report runs."""
