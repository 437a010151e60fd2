"""Refunds: money given back to a citizen through the provider that took it (DESIGN.md §4)."""
