"""Temporal workflows: wallet creation, signing, nonce refill, canary rollout, failover.

Empty until the ceremony issue lands; see ARCHITECTURE.md.
"""
