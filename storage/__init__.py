"""Storage ports and adapters: event store, projections, share vault, nonce pool.

Empty until the ceremony and event-store issues land; see ARCHITECTURE.md.
"""
