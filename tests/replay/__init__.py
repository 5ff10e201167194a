"""Replay tests: workflow histories recorded from real runs, replayed against today's code."""
