"""The sandbox bank's application: one server, one router per protocol, shared faults.

`paygov sandbox-bank --providers config/providers.sandbox.toml --paygov-url URL` runs it.
It reads the same providers file PayGov imports, so both sides share merchant codes,
secrets and keys; it calls PayGov back at `--paygov-url`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bank_adapters.sandbox.faults import Dispatcher, Faults


@dataclass
class SandboxBank:
    """Shared state of the sandbox: providers by protocol, faults, callbacks, ledger."""

    paygov_url: str
    providers: list[dict[str, Any]]
    faults: Faults = field(default_factory=Faults)
    dispatcher: Dispatcher = field(init=False)
    http: httpx.AsyncClient = field(init=False)
    # Everything the sandbox "moved", by protocol: statements are generated from it.
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(self.faults)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))

    def configs(self, protocol: str) -> list[dict[str, Any]]:
        """The `config` tables of the providers of one protocol."""
        return [
            {"code": p["code"], **p["config"]} for p in self.providers if p["protocol"] == protocol
        ]

    def callback_url(self, provider_code: str) -> str:
        return f"{self.paygov_url.rstrip('/')}/callbacks/{provider_code}"


def load_providers(path: Path) -> list[dict[str, Any]]:
    return list(tomllib.loads(path.read_text(encoding="utf-8")).get("provider", []))


def create_app(providers_file: Path, paygov_url: str) -> FastAPI:
    from bank_adapters.sandbox import signed_json, vietqr, vnpay, vnpay_settlement

    bank = SandboxBank(paygov_url=paygov_url, providers=load_providers(providers_file))
    app = FastAPI(title="PayGov sandbox bank", docs_url=None, redoc_url=None)
    app.state.bank = bank

    @app.get("/sandbox/faults")
    async def get_faults() -> dict[str, Any]:
        return bank.faults.as_dict()

    @app.post("/sandbox/faults")
    async def set_faults(request: Request) -> JSONResponse:
        try:
            bank.faults.update(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        return JSONResponse(bank.faults.as_dict())

    @app.delete("/sandbox/faults")
    async def reset_faults() -> dict[str, Any]:
        bank.faults.update(Faults().as_dict())
        return bank.faults.as_dict()

    @app.get("/sandbox/callbacks")
    async def callbacks_sent() -> dict[str, list[str]]:
        await bank.dispatcher.drain()
        return {"sent": bank.dispatcher.sent}

    @app.get("/sandbox/payments/{txn_ref}", response_model=None)
    async def payment_record(txn_ref: str) -> dict[str, Any] | JSONResponse:
        """What the sandbox booked for one transaction (tests look at its refunds)."""
        entry = bank.payments.get(txn_ref)
        if entry is None:
            return JSONResponse({"error": "no such transaction"}, status_code=404)
        return entry

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(vnpay.router(bank))
    app.include_router(vnpay_settlement.router(bank))
    app.include_router(signed_json.router(bank))
    app.include_router(vietqr.router(bank))
    return app
