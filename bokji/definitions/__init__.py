"""Deployed process, collaboration and decision definitions: immutable, versioned per key."""
