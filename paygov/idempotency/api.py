"""The `Idempotency-Key` header as routes declare it (documented once for OpenAPI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="1-255 characters; a retry with the same key and body returns the "
        "first response.",
    ),
]
