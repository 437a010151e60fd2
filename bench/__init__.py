"""Benchmarks of PayGov against their floors (DESIGN.md §13). Run with `make bench`."""
