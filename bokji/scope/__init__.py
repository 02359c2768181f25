"""Who may see and do what: the one scope policy every service asks (bokji/scope/policy.py)."""
