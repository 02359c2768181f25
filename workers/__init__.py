"""RQ job entry points only. Each takes ids, loads state itself and owns its unit of work."""
