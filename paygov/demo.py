"""`make demo`: migrate the SQLite file, seed a demo agency and the sandbox providers,
start the sandbox bank and PayGov, print a ready curl and a checkout link."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from paygov.agencies import service as agencies
from paygov.agencies.models import Agency
from paygov.auth import service as auth
from paygov.kit import migrations
from paygov.kit.context import Context
from paygov.kit.settings import Settings
from paygov.payments import service as payments
from paygov.payments.schemas import CreatePayment
from paygov.providers import service as providers

DEMO_CODE = "demo-dvc"
HOST, PORT, SANDBOX_PORT = "127.0.0.1", 8000, 8100
PROVIDERS = Path(__file__).resolve().parents[1] / "config" / "providers.sandbox.toml"


async def seed(ctx: Context, sandbox_url: str) -> tuple[str, str]:
    """The demo agency (created once), a fresh API key, the sandbox providers, and one
    payment to try the checkout with. Returns (API key, checkout URL)."""
    async with ctx.db.transaction() as session:
        now, actor = ctx.clock.now(), "demo"
        agency: Agency
        try:
            agency = await agencies.get_by_code(session, DEMO_CODE)
            key = await auth.issue_key(
                session, ctx.settings.api_key_secret_bytes, agency, at=now, actor=actor
            )
        except agencies.AgencyNotFound:
            created = await agencies.create_agency(
                session,
                ctx.box,
                ctx.settings.api_key_secret_bytes,
                at=now,
                actor=actor,
                code=DEMO_CODE,
                name="Cổng Dịch vụ công tỉnh Demo",
                mode="test",
                province="Hà Nội",
                return_hosts=["dichvucong.example.gov.vn"],
                beneficiaries=["0011001234567@970436"],
            )
            agency, key = created.agency, created.api_key
        await providers.import_catalogue(
            session,
            ctx.box,
            PROVIDERS,
            at=now,
            actor=actor,
            variables={"PAYGOV_SANDBOX_URL": sandbox_url},
        )
        order = await payments.create_payment(
            session,
            ctx,
            await auth.profile_of(session, agency.id),
            CreatePayment(
                amount=150_000,
                reference="HS-DEMO-0001",
                description="Lệ phí cấp giấy phép kinh doanh",
                return_url="http://localhost:3000/done",
                items=[
                    {"code": "LEPHI", "name": "Lệ phí cấp phép", "amount": 100_000},
                    {"code": "PHI", "name": "Phí thẩm định hồ sơ", "amount": 50_000},
                ],
            ),
        )
    return key, str(order.view.render(ctx)["checkout_url"])


def main() -> None:
    settings = Settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.database_url)
    sandbox_url = f"http://{HOST}:{SANDBOX_PORT}"
    ctx = Context.build(settings)

    async def run() -> tuple[str, str]:
        try:
            return await seed(ctx, sandbox_url)
        finally:
            await ctx.close()

    key, checkout_url = asyncio.run(run())
    base = f"http://{HOST}:{PORT}"
    sys.stdout.write(f"""
PayGov demo
  API            {base}/v1/payments    (reference: {base}/docs, {base}/openapi.json)
  sandbox bank   {sandbox_url}
  demo API key   {key}

Pay a demo order in your browser (choose a bank, press Pay at the sandbox bank):
  {checkout_url}

Create your own payment:
  curl -s -X POST {base}/v1/payments \\
    -H 'Authorization: Bearer {key}' \\
    -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
    -d '{{"amount": 150000, "reference": "HS-2026-000123", "description": "Le phi",
         "return_url": "http://localhost:3000/done"}}'

Stop with Ctrl-C.
""")
    sys.stdout.flush()
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paygov.cli",
            "sandbox-bank",
            "--port",
            str(SANDBOX_PORT),
            "--providers",
            str(PROVIDERS),
            "--paygov-url",
            base,
        ]
    )
    try:
        import uvicorn

        uvicorn.run(
            "paygov.app:create_app", factory=True, host=HOST, port=PORT, log_level="warning"
        )
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
