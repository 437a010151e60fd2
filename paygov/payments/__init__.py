"""Payment orders: creation, status, search, cancel, history."""
