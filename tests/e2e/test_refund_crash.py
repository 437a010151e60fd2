"""A worker SIGKILLed right after the bank answered a refund: on restart the refund is
recorded once, with one ledger reversal. A signed-JSON bank is asked again with the same
refund id (its spec makes refunds idempotent on it); VNPay, whose refund requests always
refund, is asked with querydr whether it refunded, and not sent the refund again."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx

from paygov.kit.context import Context
from paygov.kit.settings import Settings
from paygov.ledger import repository as ledger
from tests.e2e.stack import Stack, running_stack
from tests.e2e.test_sandbox_faults import pay_through_vnpay
from tests.factories import payment_body


def pay_directly(stack: Stack) -> str:
    """A citizen pays one order at the sandbox's Vietcombank page."""
    with stack.api() as api, httpx.Client(timeout=10) as browser:
        payment = api.post("/v1/payments", json=payment_body()).json()
        chosen = browser.post(
            f"{payment['checkout_url']}/pay", data={"method": "bank:VCB:vcb-direct-sandbox"}
        )
        assert chosen.status_code == 303, chosen.text
        bank_page = chosen.headers["location"]
        decided = browser.post(bank_page, data={"decision": "pay"})
        assert decided.status_code == 303
        assert urlsplit(decided.headers["location"]).netloc == urlsplit(stack.paygov).netloc
        browser.get(f"{stack.sandbox}/sandbox/callbacks")  # waits until the callback is sent
        assert api.get(f"/v1/payments/{payment['payment_id']}").json()["status"] == "succeeded"
        return str(payment["payment_id"])


def test_refund_survives_a_crash_after_the_bank_answered(database_url: str) -> None:
    with running_stack(database_url) as stack:
        payment_id = pay_directly(stack)
        with stack.api() as api:
            requested = api.post(
                f"/v1/payments/{payment_id}/refunds",
                json={"amount": 50_000, "reason": "Nộp thừa", "refund_amount_available": 150_000},
                headers={"Idempotency-Key": "refund-1"},
            )
            assert requested.status_code == 201, requested.text
            refund_id = requested.json()["refund_id"]
        killed = stack.paygov_cli("worker", "--once", PAYGOV_TEST_CRASH_AT="after_refund_call")
        assert killed.returncode == -9
        with stack.api() as api:
            assert api.get(f"/v1/refunds/{refund_id}").json()["status"] == "pending"
        # Past the claim's lease another worker asks the bank again, with the same refund id.
        restarted = stack.paygov_cli("worker", "--once", PAYGOV_CLOCK_OFFSET_SECONDS="300")
        assert restarted.returncode == 0, restarted.stderr
        with stack.api() as api:
            refund = api.get(f"/v1/refunds/{refund_id}").json()
            payment = api.get(f"/v1/payments/{payment_id}").json()
            events = api.get("/v1/events").json()["items"]
        assert refund["status"] == "succeeded"
        assert payment["refund_summary"] == {
            "amount_refunded": 50_000,
            "amount_available": 100_000,
            "amount_overpaid": 0,
        }
        assert [e["type"] for e in events].count("refund.succeeded") == 1


def journals(stack: Stack, payment_id: str) -> list[tuple[str, str, int]]:
    """The payment's ledger postings as (journal kind, account, amount)."""

    async def read() -> list[tuple[str, str, int]]:
        ctx = Context.build(Settings(**settings_of(stack)))
        try:
            async with ctx.db.read() as session:
                return await ledger.postings_of(session, payment_id)
        finally:
            await ctx.close()

    return asyncio.run(read())


def settings_of(stack: Stack) -> dict[str, Any]:
    env = stack.env
    return {
        "environment": "test",
        "database_url": env["PAYGOV_DATABASE_URL"],
        "master_key": env["PAYGOV_MASTER_KEY"],
        "api_key_secret": env["PAYGOV_API_KEY_SECRET"],
    }


def test_a_vnpay_refund_is_not_sent_twice_after_a_crash(database_url: str) -> None:
    with running_stack(database_url) as stack:
        payment_id = pay_through_vnpay(stack, {})
        with stack.api() as api, httpx.Client(base_url=stack.sandbox, timeout=10) as sandbox:
            events = api.get(f"/v1/payments/{payment_id}/events").json()["items"]
            txn_ref = next(e["data"]["txn_ref"] for e in events if "txn_ref" in e["data"])
            requested = api.post(
                f"/v1/payments/{payment_id}/refunds",
                json={"amount": 50_000, "reason": "Nộp thừa", "refund_amount_available": 150_000},
            )
            assert requested.status_code == 201, requested.text
            refund_id = requested.json()["refund_id"]

            killed = stack.paygov_cli("worker", "--once", PAYGOV_TEST_CRASH_AT="after_refund_call")
            assert killed.returncode == -9
            assert api.get(f"/v1/refunds/{refund_id}").json()["status"] == "pending"
            at_vnpay = sandbox.get(f"/sandbox/payments/{txn_ref}").json()
            assert (at_vnpay["refund_requests"], at_vnpay["refunded"]) == (1, 50_000)

            restarted = stack.paygov_cli("worker", "--once", PAYGOV_CLOCK_OFFSET_SECONDS="300")
            assert restarted.returncode == 0, restarted.stderr
            assert '"process_refunds": 1' in restarted.stdout

            at_vnpay = sandbox.get(f"/sandbox/payments/{txn_ref}").json()
            assert (at_vnpay["refund_requests"], at_vnpay["refunded"]) == (1, 50_000)
            refund = api.get(f"/v1/refunds/{refund_id}").json()
            assert refund["status"] == "succeeded"
            assert refund["provider_refund_id"] == at_vnpay["refunds"][0]["refund_no"]
            feed = [e["type"] for e in api.get("/v1/events").json()["items"]]
            assert feed.count("refund.succeeded") == 1
        # One reversal journal: the beneficiary's payable debited, VNPay's clearing credited.
        reversal = [(a, v) for kind, a, v in journals(stack, payment_id) if kind == "refund"]
        assert len(reversal) == 2
        assert ("clearing:vnpay-sandbox", -50_000) in reversal
