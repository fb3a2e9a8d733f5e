"""Data to try the system with: the demo data (``ledger demo``) and the booking of simulated
fraud data (``ledger fraud book``)."""
