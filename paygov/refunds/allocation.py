"""Which money a refund gives back, and through which attempt (DESIGN.md §4).

A paid payment holds its order (the fee items, owed to their beneficiaries) and, when the
citizen paid twice, an overpayment (owed back to the citizen, `overpaid:{agency}`). A
refund that names items gives back those items. One that does not gives back the
overpayment first - that money is owed whatever becomes of the order - then splits the
rest over what remains of each item, pro rata by largest remainder.

Money goes back through the attempt that took it: the order's through the paid attempt,
an overpayment's through the attempt that carried it (a second QR transfer is the same
attempt; a citizen who also finished a second attempt paid through that one). A refund
that would need two attempts is refused; the portal refunds in two parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.kit.errors import ValidationFailed
from paygov.payments import repository as payments
from paygov.payments.models import Attempt, Payment, PaymentItem
from paygov.refunds import repository
from paygov.refunds.models import Refund
from paygov.refunds.schemas import CreateRefund


class UnknownRefundItem(ValidationFailed):
    code = "unknown_refund_item"
    message = "A refund item names a code that is not one of the payment's items."


class RefundItemsDoNotSum(ValidationFailed):
    code = "refund_items_sum_mismatch"
    message = "The refund items' amounts must add up to the refund's amount."


class RefundItemTooHigh(ValidationFailed):
    code = "refund_item_amount_too_high"
    message = "A refund item is larger than what remains of that item."


class RefundSpansAttempts(ValidationFailed):
    code = "refund_spans_attempts"
    message = (
        "This refund would give back money taken by two different attempts; "
        "refund the overpayment and the order separately."
    )


@dataclass(frozen=True)
class Allocation:
    """Where a refund's money comes from."""

    attempt: Attempt  # the attempt (so the provider) that took this money
    items: dict[str, int]  # from the order: per item code
    overpaid: int  # from the overpayment


def split_pro_rata(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` whole VND across `weights` in proportion, by largest remainder.

    Each part is first the floor of its exact share `amount * weight / total`; the VND
    still missing go one each to the parts with the largest fractional remainders (ties
    to the earlier part). The parts sum exactly to `amount`, and when `amount <= total`
    none exceeds its weight. Weights must be >= 0 with a positive total.
    """
    total = sum(weights)
    if total <= 0 or any(weight < 0 for weight in weights):
        raise ValueError("weights must be non-negative with a positive total")
    if not 0 <= amount <= total:
        raise ValueError("amount must be between 0 and the total of the weights")
    parts = [amount * weight // total for weight in weights]
    missing = amount - sum(parts)
    by_remainder = sorted(
        range(len(weights)), key=lambda index: (-(amount * weights[index] % total), index)
    )
    for index in by_remainder[:missing]:
        parts[index] += 1
    return parts


def codes(items: list[PaymentItem]) -> dict[str, list[PaymentItem]]:
    """The payment's items by code, in position order (a code may repeat)."""
    grouped: dict[str, list[PaymentItem]] = {}
    for item in items:
        grouped.setdefault(item.code, []).append(item)
    return grouped


def from_overpayment(refund: Refund) -> int:
    """What a refund gives back of an overpayment: its amount beyond its items."""
    return refund.amount - sum(refund.items.values())


async def allocate(
    session: AsyncSession, payment: Payment, paid: Attempt, body: CreateRefund
) -> Allocation:
    """Where `body.amount` comes from (the caller checked it against what is available)."""
    refunds = [r for r in await repository.of_payment(session, payment.id) if r.status != "failed"]
    items = (await payments.items_of(session, [payment.id]))[payment.id]
    left = _items_left(codes(items), refunds)
    if body.items is not None:
        return Allocation(paid, _named(body, left), 0)
    overpaid_left = await _overpaid_left(session, payment.id, refunds)
    source = _source(paid.id, overpaid_left)
    overpaid = min(body.amount, overpaid_left.get(source, 0))
    rest = body.amount - overpaid
    if rest and (source != paid.id or rest > sum(left.values())):
        raise RefundSpansAttempts(field="amount")
    attempt = paid if source == paid.id else await repository.attempt(session, source)
    return Allocation(attempt, _pro_rata(rest, left), overpaid)


def _items_left(grouped: dict[str, list[PaymentItem]], refunds: list[Refund]) -> dict[str, int]:
    """What is left to refund of each item code: its amount less refunds not failed."""
    left = {code: sum(item.amount for item in group) for code, group in grouped.items()}
    for refund in refunds:
        for code, part in refund.items.items():
            if code in left:
                left[code] -= part
    return left


async def _overpaid_left(
    session: AsyncSession, payment_id: str, refunds: list[Refund]
) -> dict[str, int]:
    """Per attempt that carried an overpayment, what of it is not refunded yet (> 0 only)."""
    left: dict[str, int] = {}
    for attempt_id, amount in await repository.overpayments(session, payment_id):
        left[attempt_id] = left.get(attempt_id, 0) + amount
    for refund in refunds:
        if refund.attempt_id in left:
            left[refund.attempt_id] -= from_overpayment(refund)
    return {attempt_id: amount for attempt_id, amount in left.items() if amount > 0}


def _source(paid_id: str, overpaid_left: dict[str, int]) -> str:
    """The attempt to give back through: the paid one unless only other attempts still
    hold an overpayment, then the one holding the most."""
    if paid_id in overpaid_left or not overpaid_left:
        return paid_id
    return max(overpaid_left, key=lambda attempt_id: overpaid_left[attempt_id])


def _named(body: CreateRefund, left: dict[str, int]) -> dict[str, int]:
    """The refund's amount per item code as the portal named them."""
    assert body.items is not None
    asked: dict[str, int] = {}
    for index, item in enumerate(body.items):
        if item.code not in left:
            raise UnknownRefundItem(field=f"items[{index}].code")
        asked[item.code] = asked.get(item.code, 0) + item.amount
        if asked[item.code] > left[item.code]:
            raise RefundItemTooHigh(field=f"items[{index}].amount")
    if sum(asked.values()) != body.amount:
        raise RefundItemsDoNotSum(field="items")
    return asked


def _pro_rata(amount: int, left: dict[str, int]) -> dict[str, int]:
    """`amount` split over what remains of each item code."""
    if amount == 0:
        return {}
    remaining = [code for code, value in left.items() if value > 0]
    split = split_pro_rata(amount, [left[code] for code in remaining])
    return {code: part for code, part in zip(remaining, split, strict=True) if part > 0}
