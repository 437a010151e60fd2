"""`signed_json`: a bank's direct API following PayGov's bank integration spec."""
