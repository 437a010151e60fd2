"""The sandbox bank: a real HTTP server playing the provider side of every protocol."""
