"""Lost-callback recovery against real processes: the sandbox drops the VNPay IPN, and
`paygov worker --once` finds the payment by asking the bank (querydr)."""

from __future__ import annotations

import sys
import time
from typing import Any

from tests.e2e.stack import running_stack
from tests.e2e.test_sandbox_faults import history, pay_through_vnpay

# The first poll is due 60 s after the attempt started: the worker lives 2 min on.
FIRST_POLL_DUE = "120"


def test_a_dropped_callback_is_recovered_by_the_worker(
    database_url: str, record_property: Any
) -> None:
    with running_stack(database_url) as stack:
        payment_id = pay_through_vnpay(stack, {"drop": True})
        paid_at = time.monotonic()
        status, events = history(stack, payment_id)
        assert (status, events[-1]) == ("pending", "payment.attempt_started")

        worker = stack.paygov_cli("worker", "--once", PAYGOV_CLOCK_OFFSET_SECONDS=FIRST_POLL_DUE)
        assert worker.returncode == 0, worker.stderr
        assert '"poll_attempts": 1' in worker.stdout

        status, events = history(stack, payment_id)
        recovered_in = time.monotonic() - paid_at
        assert status == "succeeded"
        assert events.count("payment.succeeded") == 1
        record_property("recovery_seconds", round(recovered_in, 2))
        sys.stderr.write(f"\nlost callback recovered {recovered_in:.2f} s after the citizen paid\n")


def test_a_worker_killed_after_asking_the_bank_recovers_on_restart(database_url: str) -> None:
    with running_stack(database_url) as stack:
        payment_id = pay_through_vnpay(stack, {"drop": True})
        killed = stack.paygov_cli(
            "worker",
            "--once",
            PAYGOV_CLOCK_OFFSET_SECONDS=FIRST_POLL_DUE,
            PAYGOV_TEST_CRASH_AT="after_provider_call",
        )
        assert killed.returncode == -9
        assert history(stack, payment_id)[0] == "pending"  # the bank's answer was not recorded
        # Past the claim's lease (120 s), another worker asks again and records it once.
        restarted = stack.paygov_cli("worker", "--once", PAYGOV_CLOCK_OFFSET_SECONDS="300")
        assert restarted.returncode == 0, restarted.stderr
        status, events = history(stack, payment_id)
        assert status == "succeeded"
        assert events.count("payment.succeeded") == 1
