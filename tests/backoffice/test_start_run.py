"""Starting a reconciliation run from the Reconciliation page (finance, administrators): the
run is made in the request and the page shows it; a refusal (bad day, unknown provider, a
run already running, a refused or unreachable statement) is a readable message on the
page, never a 500; other roles, and a POST without the CSRF token, get 403 and no run.
Both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bank_adapters.base import ProviderUnavailable
from bank_adapters.base import StatementLine as Line
from paygov.audit import service as audit
from paygov.kit.context import Context
from paygov.reconciliation.models import ReconRun
from tests.backoffice.conftest import alert, create_user, sign_in
from tests.reconciliation import camt
from tests.reconciliation.camt import credit
from tests.reconciliation.test_api import day_with_discrepancies
from tests.reconciliation.test_reconcile import DAY, install, local

URL = "/backoffice/reconciliation"


async def runs(ctx: Context) -> list[tuple[str, str, str]]:
    async with ctx.db.read() as session:
        return [
            (r.provider, r.status, r.started_by)
            for r in await session.scalars(select(ReconRun).order_by(ReconRun.started_at))
        ]


@pytest.fixture
async def day(ctx: Context, api: httpx.AsyncClient) -> str:
    """bank-r's statement of DAY (one match, one amount mismatch, one orphan); a txn_ref."""
    return await day_with_discrepancies(ctx, api)


class TestStartRun:
    @pytest.mark.parametrize("role", ["finance", "admin"])
    async def test_the_run_is_made_and_its_page_shown(
        self, ctx: Context, browser: httpx.AsyncClient, day: str, role: str
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, role))
        page = await browser.get(URL)
        assert 'action="/backoffice/reconciliation"' in page.text
        assert '<option value="bank-r"' in page.text
        assert f'value="{DAY.isoformat()}"' in page.text  # yesterday, by default
        reply = await browser.post(
            URL, data={"csrf": csrf, "provider": "bank-r", "day": DAY.isoformat()}
        )
        assert reply.status_code == 303, reply.text
        location = reply.headers["location"]
        assert re.fullmatch(r"/backoffice/reconciliation/rec_[0-9A-Z]{26}", location)
        actor = f"staff:{role}@stc.gov.vn"
        assert await runs(ctx) == [("bank-r", "completed", actor)]
        shown = await browser.get(location)
        assert shown.status_code == 200
        assert "amount_mismatch" in shown.text
        assert day in shown.text
        async with ctx.db.read() as session:
            assert (await audit.verify(session)).ok


def fetch_raising(exc: Exception) -> Any:
    async def fetch_statement(_: date) -> Any:
        yield Line(local(DAY, 10).astimezone(UTC), 1_000, None, "x", "Z1")
        raise exc

    return fetch_statement


async def in_dollars(_: date) -> Any:
    yield Line(local(DAY, 10).astimezone(UTC), 1_000, None, "x", "Z1", currency="USD")


class TestRefusals:
    @pytest.mark.parametrize(
        ("fields", "status", "words", "en"),
        [
            (
                {"provider": "bank-r", "day": "20-11-2026"},
                422,
                "Nhập ngày theo dạng NNNN-TT-NN",
                "Give the day as YYYY-MM-DD",
            ),
            ({"provider": "bank-r"}, 422, "NNNN-TT-NN", "YYYY-MM-DD"),
            (
                {"provider": "bank-r", "day": (DAY + timedelta(days=2)).isoformat()},
                422,
                "hôm nay hoặc trước đó",
                "Only today or an earlier day",
            ),
            (
                {"provider": "no-such-bank", "day": DAY.isoformat()},
                404,
                "Không có trung gian thanh toán",
                "There is no provider with this code.",
            ),
        ],
        ids=["bad_day", "no_day", "future_day", "unknown_provider"],
    )
    async def test_bad_input_is_a_readable_message_and_no_run(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        day: str,
        fields: dict[str, str],
        status: int,
        words: str,
        en: str,
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "finance"))
        reply = await browser.post(URL, data={"csrf": csrf, **fields})
        assert reply.status_code == status, reply.text
        assert words in alert(reply.text)
        english = await browser.post(URL + "?lang=en", data={"csrf": csrf, **fields})
        assert en in alert(english.text)
        assert await runs(ctx) == []

    async def test_a_run_already_running_is_refused_and_no_second_run(
        self, ctx: Context, browser: httpx.AsyncClient, day: str
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "finance"))
        now = ctx.clock.now()
        async with ctx.db.transaction() as session:
            session.add(
                ReconRun(
                    id="rec_01JDQ5Z6R4N7X2K9W3B8C5V1TM",
                    provider="bank-r",
                    day=DAY,
                    status="running",
                    source="fetch",
                    input_name=None,
                    input_sha256=None,
                    started_by="worker:nightly",
                    lines=0,
                    counts={},
                    fees=0,
                    error=None,
                    started_at=now,
                    heartbeat_at=now,
                    finished_at=None,
                )
            )
        reply = await browser.post(
            URL, data={"csrf": csrf, "provider": "bank-r", "day": DAY.isoformat()}
        )
        assert reply.status_code == 409, reply.text
        assert "Đang có một lượt đối soát" in alert(reply.text)
        assert await runs(ctx) == [("bank-r", "running", "worker:nightly")]

    async def test_a_provider_without_a_statement_api_is_offered_the_upload_only(
        self, ctx: Context, browser: httpx.AsyncClient, day: str
    ) -> None:
        install(ctx, code="bank-f").adapter.statement_file_only = True
        csrf = await sign_in(browser, ctx, await create_user(ctx, "finance"))
        page = (await browser.get(URL)).text
        fetch, upload = page.split('id="u-provider"')
        assert '<option value="bank-f"' not in fetch.split('id="r-provider"')[1]
        assert '<option value="bank-f"' in upload
        reply = await browser.post(
            URL, data={"csrf": csrf, "provider": "bank-f", "day": DAY.isoformat()}
        )
        assert reply.status_code == 422, reply.text
        assert "paygov reconcile --provider" in alert(reply.text)
        assert await runs(ctx) == []

    @pytest.mark.parametrize(
        ("fetch", "status", "words"),
        [
            (in_dollars, 422, "Sao kê không đối soát được: the statement is in USD"),
            (
                fetch_raising(ProviderUnavailable("bank-r: statement: HTTP 502")),
                503,
                "Không lấy được sao kê từ trung gian",
            ),
        ],
        ids=["refused", "unreachable"],
    )
    async def test_a_refused_or_unreachable_statement_leaves_a_failed_run(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        day: str,
        fetch: Any,
        status: int,
        words: str,
    ) -> None:
        ctx.providers.get("bank-r").adapter.fetch_statement = fetch
        csrf = await sign_in(browser, ctx, await create_user(ctx, "finance"))
        reply = await browser.post(
            URL, data={"csrf": csrf, "provider": "bank-r", "day": DAY.isoformat()}
        )
        assert reply.status_code == status, reply.text
        assert words in alert(reply.text)
        assert await runs(ctx) == [("bank-r", "failed", "staff:finance@stc.gov.vn")]
        async with ctx.db.read() as session:
            failed = await session.scalar(select(ReconRun))
        assert failed is not None
        shown = await browser.get(f"{URL}/{failed.id}")
        assert failed.error is not None
        assert failed.error[:30] in shown.text


class TestWalls:
    @pytest.mark.parametrize("who", ["viewer", "agency_finance", "no_csrf"])
    async def test_refused_and_no_run(
        self, ctx: Context, browser: httpx.AsyncClient, day: str, who: str
    ) -> None:
        role = "finance" if who == "no_csrf" else who
        agency = "dvc-hcm" if role == "agency_finance" else None
        csrf = await sign_in(browser, ctx, await create_user(ctx, role, agency=agency))
        fields = {"provider": "bank-r", "day": DAY.isoformat()}
        form = fields if who == "no_csrf" else {"csrf": csrf, **fields}
        reply = await browser.post(URL, data=form)
        assert reply.status_code == 403, reply.text
        assert await runs(ctx) == []


class TestUpload:
    """A statement that comes as a file (VNPay's settlement file, the VietQR account's
    camt.053) is uploaded with the day and reconciled in the request."""

    async def test_an_uploaded_camt_file_is_reconciled_and_its_run_shown(
        self, ctx: Context, browser: httpx.AsyncClient, day: str
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "finance"))
        assert 'action="/backoffice/reconciliation/upload"' in (await browser.get(URL)).text
        xml = camt.statement([credit(local(DAY, 10), 89_000, day, bank_ref="U1")])
        reply = await browser.post(
            f"{URL}/upload",
            data={"csrf": csrf, "provider": "bank-r", "day": DAY.isoformat()},
            files={"file": ("C:\\Sao ke\\sao-ke-20-11.xml", xml, "application/xml")},
        )
        assert reply.status_code == 303, reply.text
        async with ctx.db.read() as session:
            run = await session.scalar(select(ReconRun))
        assert run is not None
        assert (run.status, run.source, run.input_name) == ("completed", "file", "sao-ke-20-11.xml")
        assert run.counts["amount_mismatch"]["lines"] == 1
        assert "amount_mismatch" in (await browser.get(reply.headers["location"])).text

    async def test_a_malformed_file_is_named_on_the_page_and_the_run_failed(
        self, ctx: Context, browser: httpx.AsyncClient, day: str
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "finance"))
        reply = await browser.post(
            f"{URL}/upload",
            data={"csrf": csrf, "provider": "bank-r", "day": DAY.isoformat()},
            files={"file": ("s.xml", b"<Document><Stmt>", "application/xml")},
        )
        assert reply.status_code == 422, reply.text
        assert "s.xml" in alert(reply.text)
        assert [status for _, status, _ in await runs(ctx)] == ["failed"]

    async def test_no_file_is_a_readable_message_and_no_run(
        self, ctx: Context, browser: httpx.AsyncClient, day: str
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "finance"))
        fields = {"csrf": csrf, "provider": "bank-r", "day": DAY.isoformat()}
        reply = await browser.post(
            f"{URL}/upload", data=fields, files={"file": ("", b"", "application/xml")}
        )
        assert reply.status_code == 422, reply.text
        assert "Hãy chọn tệp sao kê" in alert(reply.text)
        assert await runs(ctx) == []

    @pytest.mark.parametrize("role", ["viewer", "agency_finance", None])
    async def test_other_roles_and_a_missing_csrf_token_get_403_and_no_run(
        self, ctx: Context, browser: httpx.AsyncClient, day: str, role: str | None
    ) -> None:
        agency = "dvc-hcm" if role == "agency_finance" else None
        user = await create_user(ctx, role or "finance", agency=agency)
        csrf = await sign_in(browser, ctx, user)
        reply = await browser.post(
            f"{URL}/upload",
            data={"csrf": csrf if role else "forged", "provider": "bank-r", "day": "2026-11-20"},
            files={"file": ("s.xml", b"<Document/>", "application/xml")},
        )
        assert reply.status_code == 403
        assert await runs(ctx) == []
