"""`make demo`: migrate the SQLite file, seed a demo agency, print a ready curl, serve."""

from __future__ import annotations

import asyncio
import sys

from paygov.agencies import service as agencies
from paygov.auth import service as auth
from paygov.kit import migrations
from paygov.kit.context import Context
from paygov.kit.settings import Settings

DEMO_CODE = "demo-dvc"
HOST, PORT = "127.0.0.1", 8000


async def seed(ctx: Context) -> str:
    """The demo agency (created once) and a fresh API key for this run."""
    async with ctx.db.transaction() as session:
        try:
            agency = await agencies.get_by_code(session, DEMO_CODE)
        except agencies.AgencyNotFound:
            created = await agencies.create_agency(
                session,
                ctx.box,
                ctx.settings.api_key_secret_bytes,
                at=ctx.clock.now(),
                actor="demo",
                code=DEMO_CODE,
                name="Cổng Dịch vụ công (demo)",
                mode="test",
                province="Hà Nội",
                return_hosts=["dichvucong.example.gov.vn"],
                beneficiaries=["0011001234567@970436"],
            )
            return created.api_key
        return await auth.issue_key(
            session, ctx.settings.api_key_secret_bytes, agency, at=ctx.clock.now(), actor="demo"
        )


def main() -> None:
    settings = Settings()
    if settings.database_url.startswith("sqlite"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.database_url)
    ctx = Context.build(settings)

    async def run() -> str:
        try:
            return await seed(ctx)
        finally:
            await ctx.db.dispose()

    key = asyncio.run(run())
    base = f"http://{HOST}:{PORT}"
    sys.stdout.write(f"""
PayGov demo
  API            {base}/v1/payments
  API reference  {base}/docs   (OpenAPI: {base}/openapi.json)
  health         {base}/healthz
  demo API key   {key}

Create a payment:
  curl -s -X POST {base}/v1/payments \\
    -H 'Authorization: Bearer {key}' \\
    -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
    -d '{{"amount": 150000, "reference": "HS-2026-000123", "description": "Le phi", '\\
       '"return_url": "http://localhost:3000/done"}}'

Stop with Ctrl-C.
""")
    sys.stdout.flush()
    import uvicorn

    uvicorn.run("paygov.app:create_app", factory=True, host=HOST, port=PORT, log_level="warning")


if __name__ == "__main__":
    main()
