"""Idempotency keys: a retried request gets the first response, never a second effect."""
