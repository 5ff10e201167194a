"""Temporal workers: one process per party on its own task queue, the coordinator, the
projection follower, and the local topology that runs them all for `up` and the demo."""
