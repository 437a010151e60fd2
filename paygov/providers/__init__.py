"""Providers: configured instances of a bank protocol (a VNPay merchant account, a VietQR
collection account, a bank's direct API), with their limits and encrypted credentials."""
