"""Staff sign in with a second factor and use the back office in a real Chromium."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygov.kit.context import Context
from tests.backoffice.conftest import PASSWORD, THRESHOLD, User, create_user, live_code
from tests.conftest import cli_env
from tests.e2e.stack import _wait
from tests.e2e.test_checkout_browser import page as page  # the Chromium fixture
from tests.factories import create_agency
from tests.pg import free_port

SHOTS = Path("var/screenshots/backoffice")


@pytest.fixture
def server(ctx: Context) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "paygov.app:create_app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=cli_env(ctx, PAYGOV_BACKOFFICE_APPROVAL_THRESHOLD=str(THRESHOLD)),
    )
    try:
        _wait(f"http://127.0.0.1:{port}/healthz", process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


async def shot(page: Any, name: str, backend: str, width: int = 1280) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.set_viewport_size({"width": width, "height": 800})
    await page.screenshot(path=str(SHOTS / f"{name}-{backend}.png"), full_page=True)


async def sign_in(page: Any, base: str, user: User) -> None:
    """Password, then a TOTP code, through the forms."""
    await page.goto(f"{base}/backoffice/login")
    await page.fill("#email", user.email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/backoffice/login/code")
    await page.fill("#code", live_code(user))
    await page.click("main button[type=submit]")
    await page.wait_for_url("**/backoffice/dashboard")


@pytest.fixture
async def staff(ctx: Context) -> dict[str, User]:
    await create_agency(ctx)
    return {
        "admin": await create_user(ctx, "admin"),
        "viewer": await create_user(ctx, "viewer"),
    }


class TestBackofficeInBrowser:
    async def test_admin_signs_in_and_walks_the_pages(
        self, ctx: Context, server: str, page: Any, staff: dict[str, User], backend: str
    ) -> None:
        await page.goto(f"{server}/backoffice/login")
        await shot(page, "login", backend)
        await sign_in(page, server, staff["admin"])
        await shot(page, "dashboard", backend)
        await shot(page, "dashboard-phone", backend, width=390)
        for name in ("payments", "providers", "agencies", "users", "audit", "reports"):
            await page.goto(f"{server}/backoffice/{name}")
            assert await page.locator("h1").count() == 1
            await shot(page, name, backend)
        await page.goto(f"{server}/backoffice/audit")
        assert "✔" in await page.inner_text("main")

    async def test_viewer_meets_the_wall(
        self, ctx: Context, server: str, page: Any, staff: dict[str, User], backend: str
    ) -> None:
        await sign_in(page, server, staff["viewer"])
        reply = await page.goto(f"{server}/backoffice/providers")
        assert reply.status == 403
        await shot(page, "viewer-403", backend)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{server}/backoffice/dashboard")).status_code == 303
