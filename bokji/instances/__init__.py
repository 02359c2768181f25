"""Process instances: start, advance under a per-instance lock, status, stage and element history."""
