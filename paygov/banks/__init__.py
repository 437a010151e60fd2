"""The bank catalogue: NAPAS member banks and the providers each can pay through."""
