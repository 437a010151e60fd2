"""HTTP edge plumbing: error rendering, body limit, request ids, security headers."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from paygov.kit import logs
from paygov.kit.errors import (
    BodyTooLarge,
    MalformedJson,
    PayGovError,
    UnsupportedMediaType,
    ValidationFailed,
)

log = logging.getLogger("paygov.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def security_headers(local_providers: bool) -> list[tuple[bytes, bytes]]:
    """Headers every response carries. Checkout forms end in a 303 to the provider, which
    CSP's form-action also governs: https only, plus http on loopback outside production
    (the sandbox bank)."""
    form_action = b"'self' https:" + (
        b" http://127.0.0.1:* http://localhost:*" if local_providers else b""
    )
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            b"frame-ancestors 'none'; form-action " + form_action + b"; base-uri 'none'",
        ),
        (b"x-frame-options", b"DENY"),
    ]


def error_response(error: PayGovError) -> Response:
    headers = {"Retry-After": "1"} if error.status_code in (429, 503) else None
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status_code,
        media_type="application/json",
        headers=headers,
    )


def field_name(loc: tuple[Any, ...]) -> str | None:
    """('body', 'items', 0, 'amount') → 'items[0].amount'."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


def validation_error(exc: RequestValidationError) -> PayGovError:
    """The first offending field, with a code a program can branch on."""
    errors = list(exc.errors())
    first = errors[0] if errors else {"type": "value_error", "loc": (), "msg": "invalid"}
    loc = tuple(first.get("loc", ()))
    kind = first.get("type", "")
    if kind == "json_invalid" or (loc == ("body",) and kind == "missing"):
        return MalformedJson()
    field = field_name(loc)
    top = str(loc[1]) if len(loc) > 1 else "body"
    if kind == "missing":
        return ValidationFailed(f"{field} is required", field=field, code="missing_field")
    if kind == "extra_forbidden":
        return ValidationFailed(f"{field} is not a known field", field=field, code="unknown_field")
    message = str(first.get("msg", "invalid value"))
    code = "invalid_" + top.lower().replace("-", "_")
    return ValidationFailed(f"{field or 'body'}: {message}", field=field, code=code)


def _about_body(exc: RequestValidationError) -> bool:
    errors = list(exc.errors())
    return bool(errors) and tuple(errors[0].get("loc", ()))[:1] == ("body",)


def install_error_handlers(app: FastAPI) -> None:
    async def on_paygov(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, PayGovError)
        return error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        # FastAPI leaves a body it was not told is JSON (no or another Content-Type) unparsed.
        media_type = request.headers.get("content-type", "")
        if _about_body(exc) and "json" not in media_type.lower():
            return error_response(UnsupportedMediaType())
        return error_response(validation_error(exc))

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        # FastAPI turns any failure while reading the body into a generic 400, the cause kept.
        if isinstance(exc.__cause__, _TooLarge):
            return error_response(BodyTooLarge())
        # Not UTF-8 (UnicodeDecodeError), nested too deep, a number of over 4300 digits.
        if isinstance(exc.__cause__, ValueError | RecursionError):
            return error_response(MalformedJson())
        error = PayGovError(str(exc.detail))
        error.status_code = exc.status_code  # type: ignore[misc]
        error.code = {404: "not_found", 405: "method_not_allowed"}.get(  # type: ignore[misc]
            exc.status_code, "http_error"
        )
        return error_response(error)

    async def on_database(_: Request, exc: Exception) -> Response:
        # Never the statement's parameters: they may carry personal data.
        orig = getattr(exc, "orig", None)
        reason = str(orig).splitlines()[0] if orig is not None else ""
        log.error("database unavailable: %s: %s", type(orig or exc).__name__, reason)
        error = PayGovError("The database is unavailable; retry shortly.")
        error.status_code, error.code = 503, "service_unavailable"  # type: ignore[misc]
        return error_response(error)

    app.add_exception_handler(PayGovError, on_paygov)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(DBAPIError, on_database)


class EdgeMiddleware:
    """Pure ASGI: caps the body size (413), tags each request with an id, adds headers."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, local_providers: bool = False) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.headers = security_headers(local_providers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"")[:64] or secrets.token_hex(8).encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode("latin-1")
        logs.request_id.set(request_id.decode("latin-1"))
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await error_response(BodyTooLarge()).__call__(
                scope, receive, _with_headers(send, request_id, self.headers)
            )
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, _with_headers(send, request_id, self.headers))
        except _TooLarge:
            await error_response(BodyTooLarge())(
                scope, receive, _with_headers(send, request_id, self.headers)
            )


class _TooLarge(Exception):
    pass


def _with_headers(send: Send, request_id: bytes, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                *message.get("headers", []),
                (b"x-request-id", request_id),
                *extra,
            ]
        await send(message)

    return wrapped
