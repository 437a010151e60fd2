"""PayGov: payment aggregation for government e-services."""

__version__ = "0.1.0"
