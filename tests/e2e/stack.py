"""PayGov and the sandbox bank as real processes on 127.0.0.1, on a test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from paygov.kit.settings import new_key
from tests.conftest import SANDBOX_PROVIDERS
from tests.pg import free_port


@dataclass
class Stack:
    paygov: str
    sandbox: str
    api_key: str
    env: dict[str, str]  # what a `paygov` process needs to work on this stack's database

    def paygov_cli(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run `paygov ARGS` (e.g. `worker --once`) against this stack."""
        return subprocess.run(
            [sys.executable, "-m", "paygov.cli", *args],
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.paygov, timeout=10, headers={"Authorization": f"Bearer {self.api_key}"}
        )


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(150):
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def running_stack(database_url: str) -> Iterator[Stack]:
    port, sandbox_port = free_port(), free_port()
    paygov, sandbox = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}"
    env = {
        **os.environ,
        "PAYGOV_ENVIRONMENT": "test",
        "PAYGOV_DATABASE_URL": database_url,
        "PAYGOV_MASTER_KEY": new_key(),
        "PAYGOV_API_KEY_SECRET": new_key(),
        "PAYGOV_PUBLIC_URL": paygov,
    }
    cli = [sys.executable, "-m", "paygov.cli"]
    created = subprocess.run(
        [
            *cli,
            "agency",
            "create",
            "--code",
            "e2e",
            "--name",
            "Cổng DVC tỉnh Thử nghiệm",
            "--test",
            "--return-host",
            "dvc.example.gov.vn",
            "--beneficiary",
            "0011001234567@970436",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    subprocess.run(
        [
            *cli,
            "providers",
            "import",
            str(SANDBOX_PROVIDERS),
            "--set",
            f"PAYGOV_SANDBOX_URL={sandbox}",
        ],
        env=env,
        capture_output=True,
        check=True,
    )
    processes = [
        subprocess.Popen(
            [
                *cli,
                "sandbox-bank",
                "--port",
                str(sandbox_port),
                "--providers",
                str(SANDBOX_PROVIDERS),
                "--paygov-url",
                paygov,
            ],
            env=env,
        ),
        subprocess.Popen([*cli, "serve", "--port", str(port)], env=env),
    ]
    try:
        _wait(f"{sandbox}/healthz", processes[0])
        _wait(f"{paygov}/readyz", processes[1])
        yield Stack(paygov, sandbox, json.loads(created.stdout)["api_key"], env)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
