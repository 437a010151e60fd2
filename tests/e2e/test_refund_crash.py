"""A worker SIGKILLed right after the bank answered a refund: on restart the refund is
asked again with the same refund id (the bank's spec makes refunds idempotent on it) and
recorded once, with one ledger reversal."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from tests.e2e.stack import Stack, running_stack
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
        assert payment["refund_summary"] == {"amount_refunded": 50_000, "amount_available": 100_000}
        assert [e["type"] for e in events].count("refund.succeeded") == 1
