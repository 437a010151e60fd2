"""Shared plumbing: settings, database, errors, money, clock, crypto, ids."""
