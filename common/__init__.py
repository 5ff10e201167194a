"""Definitions every layer shares, each written once: value types (``common.types``) and
the rule for showing a URL without its secrets (``common.urls``).

The lowest layer of all: it imports nothing of ours, so mpc, chains, storage and
everything above can use it.
"""
