"""Posting money movements. Accounts:

* `clearing:{provider}` — money the provider holds for us (debit when it confirms a payment);
* `payable:{agency}:{beneficiary}` — what we owe a beneficiary account of an agency;
* `overpaid:{agency}` — money a citizen paid twice, owed back to the citizen;
* `fees:{provider}` — the provider's charges, when its statement reports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.ledger import repository


class UnbalancedJournal(Exception):
    """A programming error: a journal whose postings do not sum to zero."""


def payable_account(agency_id: str, beneficiary: str | None) -> str:
    return f"payable:{agency_id}:{beneficiary or 'default'}"


async def post(
    session: AsyncSession,
    *,
    kind: str,
    reference: str,
    payment_id: str | None,
    at: datetime,
    postings: Sequence[tuple[str, int]],
) -> int:
    """Write a balanced journal; (kind, reference) makes a second posting impossible."""
    lines = [(account, amount) for account, amount in postings if amount != 0]
    if sum(amount for _, amount in lines) != 0 or not lines:
        raise UnbalancedJournal(f"{kind} {reference}: {lines}")
    return await repository.insert_journal(
        session, kind=kind, reference=reference, payment_id=payment_id, at=at, postings=lines
    )


async def post_payment(
    session: AsyncSession,
    *,
    attempt_id: str,
    payment_id: str,
    agency_id: str,
    clearing_account: str,
    amount: int,
    items: Sequence[tuple[str | None, int]],
    at: datetime,
) -> int:
    """Debit the provider's clearing account, credit each item's beneficiary."""
    credits: dict[str, int] = {}
    for beneficiary, item_amount in items:
        account = payable_account(agency_id, beneficiary)
        credits[account] = credits.get(account, 0) - item_amount
    return await post(
        session,
        kind="payment",
        reference=attempt_id,
        payment_id=payment_id,
        at=at,
        postings=[(clearing_account, amount), *credits.items()],
    )


async def post_overpayment(
    session: AsyncSession,
    *,
    reference: str,
    payment_id: str,
    agency_id: str,
    clearing_account: str,
    amount: int,
    at: datetime,
) -> int:
    """A second success on a paid order: the money is owed back to the citizen.
    `reference` names the money movement (one attempt may carry several transfers)."""
    return await post(
        session,
        kind="overpayment",
        reference=reference,
        payment_id=payment_id,
        at=at,
        postings=[(clearing_account, amount), (f"overpaid:{agency_id}", -amount)],
    )


async def post_refund(
    session: AsyncSession,
    *,
    refund_id: str,
    payment_id: str,
    agency_id: str,
    clearing_account: str,
    parts: Sequence[tuple[str | None, int]],
    at: datetime,
    overpaid: int = 0,
) -> int:
    """Reverse a payment by a refund's parts: debit each beneficiary's payable by its part
    and `overpaid:{agency}` by what the refund gives back of an overpayment, credit the
    provider's clearing account by the whole."""
    debits: dict[str, int] = {f"overpaid:{agency_id}": overpaid}
    for beneficiary, part in parts:
        account = payable_account(agency_id, beneficiary)
        debits[account] = debits.get(account, 0) + part
    return await post(
        session,
        kind="refund",
        reference=refund_id,
        payment_id=payment_id,
        at=at,
        postings=[*debits.items(), (clearing_account, -sum(debits.values()))],
    )
