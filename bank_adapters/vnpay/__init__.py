"""VNPay payment gateway v2.1.0: redirect payments, signed IPN, querydr and refund."""
