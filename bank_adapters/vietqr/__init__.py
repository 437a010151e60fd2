"""`vietqr`: NAPAS 247 transfers by dynamic VietQR, confirmed by the bank's credit notification."""
