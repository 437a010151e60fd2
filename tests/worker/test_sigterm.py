"""`paygov worker` stops cleanly on SIGTERM (a deploy or a scale-down), exit 0."""

from __future__ import annotations

import asyncio
import signal
import sys

from paygov.kit.context import Context
from tests.conftest import cli_env


async def test_sigterm_lets_the_worker_finish_and_exit(ctx: Context) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paygov.cli",
        "worker",
        env=cli_env(ctx),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(3)  # running its rounds
    assert process.returncode is None
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err
