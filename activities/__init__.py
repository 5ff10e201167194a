"""Temporal activities: party-side protocol rounds and coordinator-side steps.

Empty until the ceremony issue lands; see ARCHITECTURE.md.
"""
