"""Webhooks to portals: the outbox, deliveries with retries, the catch-up feed."""
