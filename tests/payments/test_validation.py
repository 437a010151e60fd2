"""Every create rule of DESIGN.md §5: refused with the right status, code and field, and
nothing stored (the agency's payment list stays empty after each refusal)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from paygov.kit.context import Context
from tests.factories import create_agency, payment_body

OK_ITEM = {"code": "LEPHI", "name": "Lệ phí", "amount": 150_000}


def assert_error(response: httpx.Response, status: int, code: str, field: str | None) -> None:
    """The one error shape: exactly {"error": {"code", "message", "field"}}."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "field"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert (body["error"]["code"], body["error"]["field"]) == (code, field)


async def assert_nothing_stored(api: httpx.AsyncClient) -> None:
    listed = await api.get("/v1/payments")
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [], "next_cursor": None}


def item(**overrides: Any) -> dict[str, Any]:
    return {**OK_ITEM, **overrides}


# (test id, body overrides; `...` removes the field, expected code, expected field)
INVALID_FIELDS: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("amount zero", {"amount": 0}, "invalid_amount", "amount"),
    ("amount negative", {"amount": -1}, "invalid_amount", "amount"),
    ("amount above 10^12", {"amount": 10**12 + 1}, "invalid_amount", "amount"),
    ("amount fraction", {"amount": 1.5}, "invalid_amount", "amount"),
    ("amount whole float", {"amount": 150000.0}, "invalid_amount", "amount"),
    ("amount string", {"amount": "100"}, "invalid_amount", "amount"),
    ("amount boolean", {"amount": True}, "invalid_amount", "amount"),
    ("amount null", {"amount": None}, "invalid_amount", "amount"),
    ("amount missing", {"amount": ...}, "missing_field", "amount"),
    ("reference missing", {"reference": ...}, "missing_field", "reference"),
    ("description missing", {"description": ...}, "missing_field", "description"),
    ("return_url missing", {"return_url": ...}, "missing_field", "return_url"),
    ("reference empty", {"reference": ""}, "invalid_reference", "reference"),
    ("reference 65 chars", {"reference": "a" * 65}, "invalid_reference", "reference"),
    ("reference space", {"reference": "a b"}, "invalid_reference", "reference"),
    ("reference hash", {"reference": "x#y"}, "invalid_reference", "reference"),
    ("reference newline", {"reference": "HS-1\n"}, "invalid_reference", "reference"),
    ("reference diacritics", {"reference": "hồ-sơ-1"}, "invalid_reference", "reference"),
    ("reference number", {"reference": 123}, "invalid_reference", "reference"),
    ("description empty", {"description": ""}, "invalid_description", "description"),
    ("description blank", {"description": "   "}, "invalid_description", "description"),
    ("description 256", {"description": "d" * 256}, "invalid_description", "description"),
    ("description NUL", {"description": "Lệ phí\x00"}, "invalid_description", "description"),
    ("return_url empty", {"return_url": ""}, "invalid_return_url", "return_url"),
    ("currency USD", {"currency": "USD"}, "invalid_currency", "currency"),
    ("currency lowercase", {"currency": "vnd"}, "invalid_currency", "currency"),
    ("language fr", {"language": "fr"}, "invalid_language", "language"),
    ("expires_in 59", {"expires_in": 59}, "invalid_expires_in", "expires_in"),
    ("expires_in 86401", {"expires_in": 86401}, "invalid_expires_in", "expires_in"),
    ("expires_in string", {"expires_in": "900"}, "invalid_expires_in", "expires_in"),
    ("items empty list", {"items": []}, "invalid_items", "items"),
    ("items too many", {"items": [item(amount=1)] * 51, "amount": 51}, "invalid_items", "items"),
    ("item amount 0", {"items": [item(amount=0)]}, "invalid_items", "items[0].amount"),
    (
        "second item amount negative",
        {"items": [OK_ITEM, item(amount=-5)]},
        "invalid_items",
        "items[1].amount",
    ),
    (
        "item name missing",
        {"items": [{"code": "A", "amount": 150_000}]},
        "missing_field",
        "items[0].name",
    ),
    ("item code charset", {"items": [item(code="lệ phí")]}, "invalid_items", "items[0].code"),
    ("item name blank", {"items": [item(name=" ")]}, "invalid_items", "items[0].name"),
    ("item name NUL", {"items": [item(name="a\x00")]}, "invalid_items", "items[0].name"),
    (
        "metadata 16 keys",
        {"metadata": {f"k{n}": "v" for n in range(16)}},
        "invalid_metadata",
        "metadata",
    ),
    ("metadata value 101", {"metadata": {"k": "v" * 101}}, "invalid_metadata", "metadata.k"),
    ("metadata value number", {"metadata": {"k": 5}}, "invalid_metadata", "metadata.k"),
    ("metadata list", {"metadata": ["k"]}, "invalid_metadata", "metadata"),
    ("payer email", {"payer": {"email": "not-an-email"}}, "invalid_payer", "payer.email"),
]

UNKNOWN_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("status", {"status": "succeeded"}, "status"),
    ("payment_id", {"payment_id": "pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM"}, "payment_id"),
    ("version", {"version": 7}, "version"),
    ("typo", {"amout": 150_000}, "amout"),
    ("item field", {"items": [item(colour="red")]}, "items[0].colour"),
    ("second item field", {"items": [item(amount=1), item(amount=149_999, tax=0)]}, "items[1].tax"),
    ("payer field", {"payer": {"name": "An", "address": "HCM"}}, "payer.address"),
]

# Hosts that are not the registered `dvc.example.gov.vn`, or it in disguise.
REFUSED_RETURN_URLS = [
    "http://dvc.example.gov.vn/ket-qua",
    "https://evil.example.com/ket-qua",
    "https://dvc.example.gov.vn@evil.com/",
    "https://user:pass@dvc.example.gov.vn/",
    "https://dvc.example.gov.vn.evil.com/",
    "https://evil.com/dvc.example.gov.vn",
    "https://evil.com\\@dvc.example.gov.vn/",
    "https://evil.com?@dvc.example.gov.vn/",
    "https://dvc.example.gov.vn:99999/",
    "https://dvc.example.gov.vn/ket qua",
    "//dvc.example.gov.vn/ket-qua",
    "dvc.example.gov.vn/ket-qua",
    "ftp://dvc.example.gov.vn/",
    "javascript:alert(1)//dvc.example.gov.vn",
    "http://localhost.evil.com/",
    "http://127.0.0.2/",
    "https:///ket-qua",
]


class TestFieldRules:
    @pytest.mark.parametrize(
        ("overrides", "code", "field"),
        [pytest.param(o, c, f, id=i) for i, o, c, f in INVALID_FIELDS],
    )
    async def test_refused_with_422(
        self, api: httpx.AsyncClient, overrides: dict[str, Any], code: str, field: str
    ) -> None:
        response = await api.post("/v1/payments", json=payment_body(**overrides))

        assert_error(response, 422, code, field)
        await assert_nothing_stored(api)

    async def test_empty_object_names_the_first_missing_field(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/v1/payments", json={})

        assert_error(response, 422, "missing_field", "amount")
        await assert_nothing_stored(api)


class TestUnknownFields:
    @pytest.mark.parametrize(
        ("overrides", "field"), [pytest.param(o, f, id=i) for i, o, f in UNKNOWN_FIELDS]
    )
    async def test_refused_as_unknown_field(
        self, api: httpx.AsyncClient, overrides: dict[str, Any], field: str
    ) -> None:
        response = await api.post("/v1/payments", json=payment_body(**overrides))

        assert_error(response, 422, "unknown_field", field)
        await assert_nothing_stored(api)


class TestReturnUrl:
    @pytest.mark.parametrize("return_url", REFUSED_RETURN_URLS)
    async def test_refused_unless_https_on_a_registered_host(
        self, api: httpx.AsyncClient, return_url: str
    ) -> None:
        response = await api.post("/v1/payments", json=payment_body(return_url=return_url))

        assert_error(response, 422, "return_url_not_allowed", "return_url")
        await assert_nothing_stored(api)

    async def test_another_agencys_host_is_refused(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        await create_agency(ctx, code="dvc-hn", return_hosts=["dichvucong.hanoi.gov.vn"])

        response = await api.post(
            "/v1/payments", json=payment_body(return_url="https://dichvucong.hanoi.gov.vn/kq")
        )

        assert_error(response, 422, "return_url_not_allowed", "return_url")
        await assert_nothing_stored(api)


class TestItemRules:
    async def test_items_must_sum_to_the_amount(self, api: httpx.AsyncClient) -> None:
        items = [item(amount=100_000), item(code="PHI", amount=49_999)]

        response = await api.post("/v1/payments", json=payment_body(items=items))

        assert_error(response, 422, "items_sum_mismatch", "items")
        await assert_nothing_stored(api)

    async def test_items_may_not_exceed_the_amount(self, api: httpx.AsyncClient) -> None:
        items = [item(amount=150_000), item(code="PHI", amount=1)]

        response = await api.post("/v1/payments", json=payment_body(items=items))

        assert_error(response, 422, "items_sum_mismatch", "items")
        await assert_nothing_stored(api)

    @pytest.mark.parametrize("account", ["9999999999", "0011001234567@970436", "970436"])
    async def test_unknown_beneficiary(self, api: httpx.AsyncClient, account: str) -> None:
        items = [item(amount=1), item(code="PHI", amount=149_999, beneficiary_account=account)]

        response = await api.post("/v1/payments", json=payment_body(items=items))

        assert_error(response, 422, "unknown_beneficiary", "items[1].beneficiary_account")
        await assert_nothing_stored(api)

    async def test_another_agencys_beneficiary_is_unknown(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        await create_agency(ctx, code="dvc-hn", beneficiaries=["7777777777@970415"])
        items = [item(beneficiary_account="7777777777")]

        response = await api.post("/v1/payments", json=payment_body(items=items))

        assert_error(response, 422, "unknown_beneficiary", "items[0].beneficiary_account")
        await assert_nothing_stored(api)


class TestMalformedRequests:
    @pytest.mark.parametrize(
        "content",
        [
            pytest.param(b'{"amount": 150000,', id="truncated"),
            pytest.param(b'{"amount": 150000,}', id="trailing comma"),
            pytest.param(b"{'amount': 150000}", id="single quotes"),
            pytest.param(b"amount=150000", id="form encoded"),
            pytest.param(b"", id="empty"),
            pytest.param(b'{"description": "\xff\xfe"}', id="not utf-8"),
            pytest.param(b"[" * 60_000, id="nested too deep"),
            pytest.param(b'{"amount": ' + b"1" * 5000 + b"}", id="number of 5000 digits"),
        ],
    )
    async def test_malformed_json_is_400(self, api: httpx.AsyncClient, content: bytes) -> None:
        response = await api.post(
            "/v1/payments", content=content, headers={"Content-Type": "application/json"}
        )

        assert_error(response, 400, "malformed_json", None)
        await assert_nothing_stored(api)

    @pytest.mark.parametrize("content", [b"[]", b"null", b'"payment"', b"150000"])
    async def test_json_that_is_not_an_object_is_422(
        self, api: httpx.AsyncClient, content: bytes
    ) -> None:
        response = await api.post(
            "/v1/payments", content=content, headers={"Content-Type": "application/json"}
        )

        assert_error(response, 422, "invalid_body", None)
        await assert_nothing_stored(api)

    @pytest.mark.parametrize(
        "content_type",
        ["text/plain", "application/x-www-form-urlencoded", "application/xml", None],
    )
    async def test_a_body_not_sent_as_json_is_415(
        self, api: httpx.AsyncClient, content_type: str | None
    ) -> None:
        headers = {"Content-Type": content_type} if content_type else {}

        response = await api.post(
            "/v1/payments", content=orjson.dumps(payment_body()), headers=headers
        )

        assert_error(response, 415, "unsupported_media_type", None)
        await assert_nothing_stored(api)

    async def test_json_with_charset_is_accepted(self, api: httpx.AsyncClient) -> None:
        response = await api.post(
            "/v1/payments",
            content=orjson.dumps(payment_body()),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

        assert response.status_code == 201, response.text


def oversized_body() -> bytes:
    """Valid JSON of a payment just over 64 KiB."""
    padding = {f"k{n}": "v" * 100 for n in range(700)}
    content = orjson.dumps(payment_body(metadata=padding))
    assert len(content) > 64 * 1024
    return content


class TestBodyLimit:
    async def test_body_over_64_kib_is_413(self, api: httpx.AsyncClient) -> None:
        response = await api.post(
            "/v1/payments", content=oversized_body(), headers={"Content-Type": "application/json"}
        )

        assert_error(response, 413, "body_too_large", None)
        await assert_nothing_stored(api)

    async def test_chunked_body_over_64_kib_is_413(self, api: httpx.AsyncClient) -> None:
        content = oversized_body()

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(content), 4096):
                yield content[start : start + 4096]

        response = await api.post(
            "/v1/payments", content=chunks(), headers={"Content-Type": "application/json"}
        )

        assert "content-length" not in response.request.headers
        assert_error(response, 413, "body_too_large", None)
        await assert_nothing_stored(api)

    async def test_body_just_under_the_limit_is_read(self, api: httpx.AsyncClient) -> None:
        content = orjson.dumps(payment_body(metadata={"k": "v"}))
        content = content[:-1] + b" " * (64 * 1024 - len(content)) + b"}"
        assert len(content) == 64 * 1024

        response = await api.post(
            "/v1/payments", content=content, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 201, response.text


class TestIdempotencyKeyHeader:
    @pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "256 chars"])
    async def test_bad_key_is_400(self, api: httpx.AsyncClient, key: str) -> None:
        response = await api.post(
            "/v1/payments", json=payment_body(), headers={"Idempotency-Key": key}
        )

        assert_error(response, 400, "invalid_header", "Idempotency-Key")
        await assert_nothing_stored(api)

    @pytest.mark.parametrize("key", ["k", "k" * 255], ids=["1 char", "255 chars"])
    async def test_key_of_1_to_255_chars_is_accepted(
        self, api: httpx.AsyncClient, key: str
    ) -> None:
        response = await api.post(
            "/v1/payments", json=payment_body(), headers={"Idempotency-Key": key}
        )

        assert response.status_code == 201, response.text


class TestOtherErrorsKeepTheShape:
    @pytest.mark.parametrize(
        ("method", "path", "status", "code"),
        [
            ("DELETE", "/v1/payments", 405, "method_not_allowed"),
            ("PUT", "/v1/payments/pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM", 405, "method_not_allowed"),
            ("GET", "/v1/paymnets", 404, "not_found"),
        ],
    )
    async def test_routing_errors(
        self, api: httpx.AsyncClient, method: str, path: str, status: int, code: str
    ) -> None:
        response = await api.request(method, path)

        assert_error(response, status, code, None)
