"""The sandbox bank's fault switches against real PayGov and sandbox processes (VNPay IPN)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.stack import Stack, running_stack
from tests.factories import payment_body

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
def stack(database_url: str) -> Iterator[Stack]:
    with running_stack(database_url) as running:
        yield running


def pay_through_vnpay(stack: Stack, faults: dict[str, Any]) -> str:
    """A citizen pays one order at the sandbox's VNPay page under `faults`."""
    with stack.api() as api, httpx.Client(timeout=10) as browser:
        assert browser.post(f"{stack.sandbox}/sandbox/faults", json=faults).status_code == 200
        payment = api.post("/v1/payments", json=payment_body()).json()
        chosen = browser.post(
            f"{payment['checkout_url']}/pay", data={"method": "bank:VCB:vnpay-sandbox"}
        )
        assert chosen.status_code == 303
        page = browser.get(chosen.headers["location"])
        fields = {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}
        decided = browser.post(f"{stack.sandbox}/vnpay/decide", data={**fields, "action": "pay"})
        assert decided.status_code == 303
        assert decided.headers["location"].startswith(stack.paygov)
        browser.get(f"{stack.sandbox}/sandbox/callbacks")  # waits until every callback is sent
        browser.delete(f"{stack.sandbox}/sandbox/faults")
        return str(payment["payment_id"])


def history(stack: Stack, payment_id: str) -> tuple[str, list[str]]:
    with stack.api() as api:
        status = api.get(f"/v1/payments/{payment_id}").json()["status"]
        events = api.get(f"/v1/payments/{payment_id}/events").json()["items"]
    return status, [event["type"] for event in events]


def test_fault_switches(stack: Stack) -> None:
    status, events = history(stack, pay_through_vnpay(stack, {"duplicate": True}))
    assert status == "succeeded"
    assert events.count("payment.succeeded") == 1

    status, events = history(stack, pay_through_vnpay(stack, {"out_of_order": True}))
    assert status == "succeeded"  # the stale failure after the success changes nothing
    assert "payment.attempt_failed" not in events

    status, events = history(stack, pay_through_vnpay(stack, {"delay_seconds": 1}))
    assert status == "succeeded"

    status, events = history(stack, pay_through_vnpay(stack, {"alter_amount": 1000}))
    assert status == "pending"
    assert "payment.amount_mismatch" in events

    status, events = history(stack, pay_through_vnpay(stack, {"bad_signature": True}))
    assert (status, events[-1]) == ("pending", "payment.attempt_started")

    status, _ = history(stack, pay_through_vnpay(stack, {"drop": True}))
    assert status == "pending"  # until the worker polls the provider (tests/e2e/test_recovery.py)
