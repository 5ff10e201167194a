"""Temporal workers: one per party on its own task queue, plus the coordinator.

Empty until the ceremony issue lands; see ARCHITECTURE.md.
"""
