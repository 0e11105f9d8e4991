"""Async jobs: the job model and lifecycle, the submit/poll service, the worker and webhook delivery.

Everything here talks to a `JobStore` (runtime/stores) and a `JobQueue` (runtime/queues) through
their ports, so the same code runs over SQLite locally and over each cloud's store and queue.
"""
