"""Named crash points: `PAYGOV_TEST_CRASH_AT=<name>` makes the process SIGKILL itself
there, so tests can kill a worker at exactly that instant and prove that a restart
finishes the work with nothing lost and nothing doubled.

Points: `after_claim` (webhook deliveries claimed, nothing sent), `after_send` (a webhook
POST answered, its result not yet recorded), `after_provider_call` (a provider answered a
status query, nothing recorded yet), `after_refund_call` (a provider answered a refund or
a refund lookup, nothing recorded yet).
"""

from __future__ import annotations

import os
import signal

VARIABLE = "PAYGOV_TEST_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
