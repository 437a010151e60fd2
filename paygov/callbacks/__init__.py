"""Provider callbacks: stored raw in an inbox, verified, processed exactly once."""
