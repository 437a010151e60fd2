"""Creating a payment order: what a portal gets back from POST /v1/payments."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from paygov.kit.context import Context
from tests.factories import create_agency, payment_body

PAYMENT_ID = re.compile(r"^pay_[0-9A-HJKMNP-TV-Z]{26}$")
# Milliseconds and a Z: what every timestamp of the API looks like.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
DEFAULT_ACCOUNT = "0011001234567"
SECOND_ACCOUNT = "1234567890"


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/v1/payments", json=payment_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def parse(stamp: str) -> datetime:
    assert TIMESTAMP.match(stamp), stamp
    return datetime.fromisoformat(stamp)


class TestCreatePayment:
    async def test_returns_201_with_the_new_order(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/v1/payments", json=payment_body())

        assert response.status_code == 201, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert PAYMENT_ID.match(body["payment_id"]), body["payment_id"]
        assert body["status"] == "created"
        assert body["version"] == 1
        assert body["amount"] == 150_000
        assert body["currency"] == "VND"
        assert body["reference"] == "HS-2026-000123"
        assert body["description"] == "Lệ phí cấp giấy phép lái xe"
        assert body["return_url"] == "https://dvc.example.gov.vn/ket-qua"
        assert body["language"] == "vi"
        assert body["metadata"] == {}
        assert body["provider"] is None
        assert body["bank"] is None
        assert body["paid_at"] is None
        assert body["late"] is False
        assert body["failure"] is None
        assert body["refund_summary"] == {
            "amount_refunded": 0,
            "amount_available": 0,
            "amount_overpaid": 0,
        }

    async def test_checkout_url_points_at_this_service(self, api: httpx.AsyncClient) -> None:
        first = await create(api)
        second = await create(api)

        assert first["checkout_url"].startswith("http://paygov.test/checkout/")
        assert first["checkout_url"] != second["checkout_url"]
        assert first["payment_id"] != second["payment_id"]

    async def test_expires_900_seconds_after_creation_by_default(
        self, api: httpx.AsyncClient
    ) -> None:
        body = await create(api)

        created_at, expires_at = parse(body["created_at"]), parse(body["expires_at"])
        assert expires_at - created_at == timedelta(seconds=900)

    @pytest.mark.parametrize("expires_in", [60, 3600, 86400])
    async def test_expires_in_sets_the_deadline(
        self, api: httpx.AsyncClient, expires_in: int
    ) -> None:
        body = await create(api, expires_in=expires_in)

        delta = parse(body["expires_at"]) - parse(body["created_at"])
        assert delta == timedelta(seconds=expires_in)

    async def test_created_at_is_the_clock_time(self, api: httpx.AsyncClient, ctx: Context) -> None:
        ctx.clock.advance(timedelta(days=3))
        before = ctx.clock.now() - timedelta(milliseconds=1)

        body = await create(api)

        assert before <= parse(body["created_at"]) <= ctx.clock.now()

    async def test_reads_back_exactly_as_created(self, api: httpx.AsyncClient) -> None:
        created = await create(api, metadata={"ho_so": "000123"}, language="en")

        fetched = await api.get(f"/v1/payments/{created['payment_id']}")

        assert fetched.status_code == 200
        assert fetched.json() == created

    async def test_boundary_amounts_are_accepted(self, api: httpx.AsyncClient) -> None:
        smallest = await create(api, amount=1)
        largest = await create(api, amount=10**12)

        assert smallest["amount"] == 1
        assert largest["amount"] == 10**12
        assert largest["items"][0]["amount"] == 10**12

    async def test_currency_vnd_may_be_sent(self, api: httpx.AsyncClient) -> None:
        body = await create(api, currency="VND")

        assert body["currency"] == "VND"

    async def test_longest_reference_and_description_are_accepted(
        self, api: httpx.AsyncClient
    ) -> None:
        reference = "A-b_c.9/" * 8
        description = "đ" * 255

        body = await create(api, reference=reference, description=description)

        assert body["reference"] == reference
        assert body["description"] == description


class TestDefaultItems:
    async def test_absent_items_become_one_item_to_the_default_beneficiary(
        self, api: httpx.AsyncClient
    ) -> None:
        body = await create(api, amount=250_000)

        assert len(body["items"]) == 1
        item = body["items"][0]
        assert item["amount"] == 250_000
        assert item["beneficiary_account"] == DEFAULT_ACCOUNT
        assert item["code"]
        assert item["name"]

    async def test_agency_without_beneficiaries_gets_an_item_without_account(
        self, client: httpx.AsyncClient, ctx: Context
    ) -> None:
        bare = await create_agency(ctx, code="no-accounts", beneficiaries=[])
        client.headers.update(bare.auth)

        body = await create(client)

        assert [item["amount"] for item in body["items"]] == [150_000]
        assert body["items"][0]["beneficiary_account"] is None


class TestExplicitItems:
    async def test_items_are_kept_in_order_with_their_beneficiaries(
        self, api: httpx.AsyncClient
    ) -> None:
        items = [
            {
                "code": "LEPHI",
                "name": "Lệ phí",
                "amount": 100_000,
                "beneficiary_account": SECOND_ACCOUNT,
            },
            {
                "code": "PHI.2",
                "name": "Phí thẩm định",
                "amount": 50_000,
                "beneficiary_account": DEFAULT_ACCOUNT,
            },
        ]

        body = await create(api, amount=150_000, items=items)

        assert body["items"] == items

    async def test_an_item_without_beneficiary_goes_to_the_default(
        self, api: httpx.AsyncClient
    ) -> None:
        items = [
            {"code": "A", "name": "Lệ phí", "amount": 1, "beneficiary_account": SECOND_ACCOUNT},
            {"code": "B", "name": "Phí", "amount": 149_999},
        ]

        body = await create(api, items=items)

        assert [item["beneficiary_account"] for item in body["items"]] == [
            SECOND_ACCOUNT,
            DEFAULT_ACCOUNT,
        ]
        assert sum(item["amount"] for item in body["items"]) == body["amount"]


class TestMetadataAndLanguage:
    async def test_metadata_is_echoed(self, api: httpx.AsyncClient) -> None:
        metadata = {f"key{n}": "v" * 100 for n in range(15)}

        body = await create(api, metadata=metadata)

        assert body["metadata"] == metadata

    async def test_empty_metadata_is_an_empty_object(self, api: httpx.AsyncClient) -> None:
        body = await create(api, metadata={})

        assert body["metadata"] == {}

    async def test_language_en(self, api: httpx.AsyncClient) -> None:
        body = await create(api, language="en")

        assert body["language"] == "en"


class TestReturnUrlByMode:
    @pytest.mark.parametrize(
        "return_url",
        [
            "http://localhost/ket-qua",
            "http://localhost:3000/ket-qua?ho_so=1",
            "http://127.0.0.1/ket-qua",
            "http://127.0.0.1:8080/",
            "https://localhost/ket-qua",
        ],
    )
    async def test_test_mode_agency_may_return_to_the_developer_machine(
        self, api: httpx.AsyncClient, return_url: str
    ) -> None:
        body = await create(api, return_url=return_url)

        assert body["return_url"] == return_url

    async def test_registered_host_with_path_and_query_is_accepted(
        self, api: httpx.AsyncClient
    ) -> None:
        url = "https://dvc.example.gov.vn:8443/ket-qua?ho_so=HS-1&lang=vi#top"

        body = await create(api, return_url=url)

        assert body["return_url"] == url

    @pytest.mark.parametrize(
        "return_url",
        ["http://localhost/ket-qua", "http://127.0.0.1/ket-qua", "https://localhost/ket-qua"],
    )
    async def test_live_mode_agency_may_not(
        self, client: httpx.AsyncClient, ctx: Context, return_url: str
    ) -> None:
        live = await create_agency(ctx, code="dvc-live", mode="live")
        client.headers.update(live.auth)

        response = await client.post("/v1/payments", json=payment_body(return_url=return_url))

        assert response.status_code == 422
        assert response.json() == {
            "error": {
                "code": "return_url_not_allowed",
                "message": response.json()["error"]["message"],
                "field": "return_url",
            }
        }

    async def test_live_mode_agency_may_use_its_registered_host(
        self, client: httpx.AsyncClient, ctx: Context
    ) -> None:
        live = await create_agency(ctx, code="dvc-live", mode="live")
        client.headers.update(live.auth)

        response = await client.post("/v1/payments", json=payment_body())

        assert response.status_code == 201, response.text


PAYER = {
    "name": "Nguyễn Văn An",
    "id_number": "079203001234",
    "email": "an.nguyen@example.vn",
    "phone": "+84 912 345 678",
}


class TestPayerData:
    async def test_payer_is_accepted_but_never_echoed(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/v1/payments", json=payment_body(payer=PAYER))

        assert response.status_code == 201, response.text
        fetched = await api.get(f"/v1/payments/{response.json()['payment_id']}")
        listed = await api.get("/v1/payments")
        for text in (response.text, fetched.text, listed.text):
            assert "payer" not in text
            for value in PAYER.values():
                assert value not in text

    async def test_partial_payer_is_accepted(self, api: httpx.AsyncClient) -> None:
        response = await api.post(
            "/v1/payments", json=payment_body(payer={"name": "Trần Thị Bình"})
        )

        assert response.status_code == 201, response.text
        assert "Trần Thị Bình" not in response.text
