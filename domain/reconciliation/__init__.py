"""The reconciliation bounded context: core-banking statements matched against the ledger."""
