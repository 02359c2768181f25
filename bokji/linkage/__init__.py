"""Data linkage: agency connectors run by RQ workers, and evidence with provenance.

`registry` declares each data type once; `client` calls agencies (timeouts, quick retries with
backoff and jitter, a circuit breaker and a rate limit per agency, shared through Redis); `handlers`
are the automated tasks of the investigation module; `service` writes and reads evidence.
"""
