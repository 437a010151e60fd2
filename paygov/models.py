"""Every ORM model, imported in one place so Alembic sees the whole schema."""

from paygov.agencies.models import Agency, BeneficiaryAccount
from paygov.audit.models import AuditEntry
from paygov.auth.models import ApiKey
from paygov.idempotency.models import IdempotencyKey
from paygov.kit.db import Base
from paygov.payments.models import Attempt, Payment, PaymentEvent, PaymentItem

__all__ = [
    "Agency",
    "ApiKey",
    "Attempt",
    "AuditEntry",
    "Base",
    "BeneficiaryAccount",
    "IdempotencyKey",
    "Payment",
    "PaymentEvent",
    "PaymentItem",
]
