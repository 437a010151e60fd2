"""`/healthz` (the process answers) and `/readyz` (the database answers, schema current)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from paygov.kit import migrations
from paygov.kit.context import Context

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and migrated")
async def readyz(request: Request) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    try:
        async with ctx.db.read() as session:
            version = await session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # any failure means "not ready", never a 500
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, 503)
    expected = migrations.head()
    if version != expected:
        return JSONResponse(
            {
                "status": "unavailable",
                "reason": "schema not migrated",
                "schema": version,
                "expected": expected,
            },
            503,
        )
    return JSONResponse({"status": "ok", "schema": version})
