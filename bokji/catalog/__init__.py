"""The service catalog: every welfare service with its ministry, purpose group, process and rule."""
