"""The hash-chained audit log of changes made by people and by the system."""
