"""Benchmarks: ``python -m benchmarks`` (or ``make bench``) prints a table of figures.

Figures come with the machine they were measured on and the command that
measured them. Nothing here is asserted: tests check behaviour, this measures.
"""
