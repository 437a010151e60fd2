"""The floor of the create-payment benchmark, served by the same server as the real route.

`create_app` is an app factory for uvicorn: PayGov's own app (same middleware, error
handlers, engine and pool) plus one route, POST /bench/floor, that validates the same body
as POST /v1/payments (`CreatePayment`) and does one INSERT into a bare table, in its own
transaction. No auth, no idempotency, no items or event: the least a create endpoint on
this stack can do. The table is created by bench/run.py, not by a migration.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request, Response
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, Text

from paygov.app import create_app as create_paygov_app
from paygov.kit.context import Context
from paygov.kit.ids import new_id
from paygov.payments.schemas import CreatePayment

FLOOR_PATH = "/bench/floor"

metadata = MetaData()

floor_rows = Table(
    "bench_floor",
    metadata,
    Column("id", String(30), primary_key=True),
    Column("reference", String(64), nullable=False),
    Column("description", String(255), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("return_url", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


async def create_floor(body: CreatePayment, request: Request) -> Response:
    """Validate the body (FastAPI does, with the same model), insert one row, answer 201."""
    ctx: Context = request.app.state.ctx
    row_id = new_id("flr")
    async with ctx.db.engine.begin() as connection:
        await connection.execute(
            floor_rows.insert(),
            {
                "id": row_id,
                "reference": body.reference,
                "description": body.description,
                "amount": body.amount,
                "return_url": body.return_url,
                "created_at": ctx.clock.now(),
            },
        )
    return Response(orjson.dumps({"id": row_id}), status_code=201, media_type="application/json")


def create_app() -> FastAPI:
    """PayGov's app with the floor route added; uvicorn calls this in each worker."""
    app = create_paygov_app()
    app.add_api_route(
        FLOOR_PATH, create_floor, methods=["POST"], status_code=201, include_in_schema=False
    )
    return app
