"""Automated work: one row per service-task execution, handed to RQ only after commit.

The database row is the truth; Redis only carries the job id. A job lost from Redis is
re-enqueued by the scheduler's sweeper; a job delivered twice is harmless (see handlers.py).
"""
