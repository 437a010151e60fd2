"""Double-entry ledger: every journal balances to zero, every side effect is posted once."""
