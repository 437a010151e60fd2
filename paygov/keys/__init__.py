"""Keys: re-encrypting every secret at rest under the current master key."""
