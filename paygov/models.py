"""Every ORM model, imported in one place so Alembic sees the whole schema."""

from paygov.agencies.models import Agency, BeneficiaryAccount
from paygov.audit.models import AuditEntry
from paygov.auth.models import ApiKey
from paygov.callbacks.models import InboxEntry
from paygov.idempotency.models import IdempotencyKey
from paygov.kit.db import Base
from paygov.ledger.models import Journal, Posting
from paygov.payments.models import Attempt, Payment, PaymentEvent, PaymentItem
from paygov.providers.models import Provider
from paygov.reconciliation.models import ReconItem, ReconRun, Resolution, StatementLine
from paygov.refunds.models import Refund
from paygov.staff.models import StaffApproval, StaffSession, StaffToken, StaffUser
from paygov.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

__all__ = [
    "Agency",
    "ApiKey",
    "Attempt",
    "AuditEntry",
    "Base",
    "BeneficiaryAccount",
    "IdempotencyKey",
    "InboxEntry",
    "Journal",
    "Payment",
    "PaymentEvent",
    "PaymentItem",
    "Posting",
    "Provider",
    "ReconItem",
    "ReconRun",
    "Refund",
    "Resolution",
    "StaffApproval",
    "StaffSession",
    "StaffToken",
    "StaffUser",
    "StatementLine",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
]
