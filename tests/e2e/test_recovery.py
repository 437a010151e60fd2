"""Lost-callback recovery against real processes: the sandbox drops the VNPay IPN, and
`paygov worker --once` finds the payment by asking the bank (querydr)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest

from paygov.kit.settings import new_key
from tests.e2e import stack as stack_module
from tests.e2e.stack import running_stack
from tests.e2e.test_sandbox_faults import history, pay_through_vnpay


def test_a_dropped_callback_is_recovered_by_the_worker(
    database_url: str, monkeypatch: pytest.MonkeyPatch, record_property: Any
) -> None:
    master_key, api_key_secret = new_key(), new_key()
    keys = iter([master_key, api_key_secret])  # running_stack draws these two, in this order
    monkeypatch.setattr(stack_module, "new_key", lambda: next(keys))
    with running_stack(database_url) as stack:
        payment_id = pay_through_vnpay(stack, {"drop": True})
        paid_at = time.monotonic()
        status, events = history(stack, payment_id)
        assert (status, events[-1]) == ("pending", "payment.attempt_started")

        env = {
            **os.environ,
            "PAYGOV_ENVIRONMENT": "test",
            "PAYGOV_DATABASE_URL": database_url,
            "PAYGOV_MASTER_KEY": master_key,
            "PAYGOV_API_KEY_SECRET": api_key_secret,
            "PAYGOV_PUBLIC_URL": stack.paygov,
            # The first poll is due 60 s after the attempt started: the worker lives 2 min on.
            "PAYGOV_CLOCK_OFFSET_SECONDS": "120",
        }
        worker = subprocess.run(
            [sys.executable, "-m", "paygov.cli", "worker", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert worker.returncode == 0, worker.stderr
        assert '"poll_attempts": 1' in worker.stdout

        status, events = history(stack, payment_id)
        recovered_in = time.monotonic() - paid_at
        assert status == "succeeded"
        assert events.count("payment.succeeded") == 1
        record_property("recovery_seconds", round(recovered_in, 2))
        sys.stderr.write(f"\nlost callback recovered {recovered_in:.2f} s after the citizen paid\n")


def test_a_worker_killed_after_asking_the_bank_recovers_on_restart(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    master_key, api_key_secret = new_key(), new_key()
    keys = iter([master_key, api_key_secret])
    monkeypatch.setattr(stack_module, "new_key", lambda: next(keys))
    with running_stack(database_url) as stack:
        payment_id = pay_through_vnpay(stack, {"drop": True})
        env = {
            **os.environ,
            "PAYGOV_ENVIRONMENT": "test",
            "PAYGOV_DATABASE_URL": database_url,
            "PAYGOV_MASTER_KEY": master_key,
            "PAYGOV_API_KEY_SECRET": api_key_secret,
            "PAYGOV_PUBLIC_URL": stack.paygov,
            "PAYGOV_CLOCK_OFFSET_SECONDS": "120",
        }
        command = [sys.executable, "-m", "paygov.cli", "worker", "--once"]
        killed = subprocess.run(
            command,
            env={**env, "PAYGOV_TEST_CRASH_AT": "after_provider_call"},
            capture_output=True,
            timeout=120,
        )
        assert killed.returncode == -9
        assert history(stack, payment_id)[0] == "pending"  # the bank's answer was not recorded
        # Past the claim's lease (120 s), another worker asks again and records it once.
        restarted = subprocess.run(
            command,
            env={**env, "PAYGOV_CLOCK_OFFSET_SECONDS": "300"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert restarted.returncode == 0, restarted.stderr
        status, events = history(stack, payment_id)
        assert status == "succeeded"
        assert events.count("payment.succeeded") == 1
