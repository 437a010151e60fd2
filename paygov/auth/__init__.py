"""Authentication of portals by API key."""
