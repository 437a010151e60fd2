"""Nightly reconciliation: each provider's statement against what PayGov recorded."""
