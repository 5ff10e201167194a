"""Temporal activities: party-side protocol rounds (each with only its own vault) and
coordinator-side steps (planning, aggregation, chains, the ceremony log)."""
