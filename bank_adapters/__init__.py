"""Provider protocols. A protocol is an `Adapter` class; a provider is a configured instance.

Adapters are found through the entry-point group `paygov.bank_adapters`.
"""
