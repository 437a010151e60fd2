"""One error base class. Each domain declares its subclasses; one handler renders them."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorBody(BaseModel):
    error: ErrorDetail


class PayGovError(Exception):
    """An error a caller can act on, carrying its HTTP meaning."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "The request could not be processed."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        self.detail = message or self.message
        self.field = field
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.detail, "field": self.field}}


class MalformedJson(PayGovError):
    status_code = 400
    code = "malformed_json"
    message = "The request body is not valid JSON."


class InvalidHeader(PayGovError):
    status_code = 400
    code = "invalid_header"
    message = "A request header is malformed."


class Unauthorized(PayGovError):
    status_code = 401
    code = "unauthorized"
    message = "Send a valid API key as 'Authorization: Bearer <key>'."


class Forbidden(PayGovError):
    status_code = 403
    code = "forbidden"
    message = "Your role does not allow this action."


class NotFound(PayGovError):
    status_code = 404
    code = "not_found"
    message = "No such object."


class Conflict(PayGovError):
    status_code = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class BodyTooLarge(PayGovError):
    status_code = 413
    code = "body_too_large"
    message = "The request body is larger than the limit."


class UnsupportedMediaType(PayGovError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Send the body as JSON with 'Content-Type: application/json'."


class ValidationFailed(PayGovError):
    status_code = 422
    code = "validation_error"
    message = "A field is invalid."

    def __init__(
        self, message: str | None = None, *, field: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, field=field)
        if code is not None:
            self.code = code  # type: ignore[misc]


class RateLimited(PayGovError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests for this API key; slow down and retry."


class ServiceUnavailable(PayGovError):
    status_code = 503
    code = "service_unavailable"
    message = "The service is temporarily unavailable; retry shortly."


def error_response_doc(*errors: type[PayGovError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the errors a route can raise, with an example each."""
    docs: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = docs.setdefault(
            error.status_code,
            {
                "description": "",
                "model": ErrorBody,
                "content": {"application/json": {"examples": {}}},
            },
        )
        entry["description"] = ", ".join(filter(None, [entry["description"], error.code]))
        entry["content"]["application/json"]["examples"][error.code] = {
            "value": {"error": {"code": error.code, "message": error.message, "field": None}}
        }
    return docs
