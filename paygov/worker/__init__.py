"""`paygov worker`: the background jobs (DESIGN.md §9)."""
