"""Civil servants: users, roles, offices, passwords and access tokens."""
