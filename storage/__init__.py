"""Storage ports and adapters: the hash-chained event store, its projections and audit
tools, analytics, and each party's encrypted share vault."""
