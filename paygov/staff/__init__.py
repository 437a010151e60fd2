"""Finance staff and operators: users, roles, and API tokens for finance tools."""
