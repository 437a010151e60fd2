"""The back office's admin POST actions (API keys, webhook secrets, providers, webhook
re-sends) and their walls: a role without the permission, or a POST without the CSRF
token, gets 403 and changes nothing. Both databases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from paygov.agencies.models import Agency
from paygov.agencies.service import WEBHOOK_SECRET_PURPOSE
from paygov.audit.models import AuditEntry
from paygov.audit.service import verify as verify_audit
from paygov.auth.models import ApiKey
from paygov.kit.context import Context
from paygov.providers.models import Provider
from paygov.webhooks.models import WebhookDelivery
from tests.backoffice.conftest import create_user, csrf_of, sign_in
from tests.factories import AgencyKeys, create_agency, payment_body

HOOK = "https://portal.example.gov.vn/paygov/webhooks"
PROVIDER = "vnpay-sandbox"


@dataclass
class World:
    """An agency with a webhook endpoint, one delivery to it, and the sandbox providers."""

    keys: AgencyKeys
    key_id: str
    delivery_id: str


@pytest.fixture
async def world(ctx: Context, sandbox_providers: Context, browser: httpx.AsyncClient) -> World:
    keys = await create_agency(ctx, webhook_url=HOOK)
    created = await browser.post("/v1/payments", json=payment_body(), headers=keys.auth)
    assert created.status_code == 201, created.text
    payment_id = created.json()["payment_id"]
    cancelled = await browser.post(f"/v1/payments/{payment_id}/cancel", headers=keys.auth)
    assert cancelled.status_code == 200, cancelled.text
    async with ctx.db.read() as session:
        key_id = await session.scalar(select(ApiKey.id))
        delivery_id = await session.scalar(select(WebhookDelivery.id))
    assert key_id is not None
    assert delivery_id is not None
    return World(keys, key_id, delivery_id)


async def state(ctx: Context) -> dict[str, Any]:
    """Everything an admin action may change."""
    async with ctx.db.read() as session:
        keys = [(k.id, k.revoked_at) for k in await session.scalars(select(ApiKey))]
        secrets = {
            a.code: ctx.box.decrypt_json(a.webhook_secrets, WEBHOOK_SECRET_PURPOSE)
            for a in await session.scalars(select(Agency))
        }
        flags = {p.code: p.enabled for p in await session.scalars(select(Provider))}
        deliveries = [
            (d.id, d.event_id, d.status, d.attempts)
            for d in await session.scalars(select(WebhookDelivery))
        ]
        audit = list(await session.scalars(select(AuditEntry.id)))
    return {
        "keys": sorted(keys),
        "secrets": secrets,
        "providers": flags,
        "deliveries": sorted(deliveries),
        "audit": sorted(audit),
        "live": {c: p.enabled for c, p in ctx.providers.by_code.items()},
    }


async def audited(ctx: Context, action: str) -> list[tuple[str, str]]:
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(AuditEntry.actor, AuditEntry.subject_id)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
        return [(actor, subject) for actor, subject in rows.all()]


def shown_once(html: str, prefix: str) -> str:
    """The secret in the page's one-time notice."""
    found = re.search(r'role="status">[^<]*?(' + prefix + r"[A-Za-z0-9_+/=-]+)", html)
    assert found, html[:2000]
    return found.group(1)


async def payments_status(http: httpx.AsyncClient, key: str) -> int:
    reply = await http.get("/v1/payments", headers={"Authorization": f"Bearer {key}"})
    return reply.status_code


ADMIN = "staff:admin@stc.gov.vn"


class TestApiKeys:
    async def test_issued_key_authenticates_and_revoked_key_gets_401(
        self, ctx: Context, browser: httpx.AsyncClient, world: World
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "admin"))
        page = await browser.post("/backoffice/agencies/dvc-hcm/keys", data={"csrf": csrf})
        assert page.status_code == 200, page.text
        clear = shown_once(page.text, "pk_test_")
        assert await payments_status(browser, clear) == 200
        async with ctx.db.read() as session:
            new = await session.scalar(select(ApiKey).where(ApiKey.display_prefix == clear[:12]))
        assert new is not None
        assert new.agency_id == world.keys.agency.id
        assert await audited(ctx, "api_key.created") == [
            ("test", world.key_id),
            (ADMIN, new.id),
        ]
        assert f"/backoffice/agencies/keys/{new.id}/revoke" in page.text

        revoked = await browser.post(
            f"/backoffice/agencies/keys/{new.id}/revoke", data={"csrf": csrf}
        )
        assert revoked.status_code == 303
        assert revoked.headers["location"] == "/backoffice/agencies"
        assert await payments_status(browser, clear) == 401
        assert await payments_status(browser, world.keys.api_key) == 200  # the other one works
        assert await audited(ctx, "api_key.revoked") == [(ADMIN, new.id)]

        again = await browser.post(
            f"/backoffice/agencies/keys/{new.id}/revoke", data={"csrf": csrf}
        )
        assert again.status_code == 404
        assert await audited(ctx, "api_key.revoked") == [(ADMIN, new.id)]


class TestWebhookSecret:
    async def test_rotation_adds_a_new_secret_shown_once_beside_the_old_one(
        self, ctx: Context, browser: httpx.AsyncClient, world: World
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "admin"))
        before = (await state(ctx))["secrets"]["dvc-hcm"]
        assert before == [world.keys.webhook_secret]
        page = await browser.post(
            "/backoffice/agencies/dvc-hcm/webhook-secret", data={"csrf": csrf}
        )
        assert page.status_code == 200, page.text
        shown = shown_once(page.text, "whsec_")
        after = (await state(ctx))["secrets"]["dvc-hcm"]
        assert after == [shown, world.keys.webhook_secret]  # signed with both while switching
        assert await audited(ctx, "webhook_secret.rotation_started") == [
            (ADMIN, world.keys.agency.id)
        ]
        listing = await browser.get("/backoffice/agencies")
        assert shown not in listing.text  # shown once only


class TestProviders:
    async def test_disable_then_enable_flips_the_flag_and_the_live_registry(
        self, ctx: Context, browser: httpx.AsyncClient, world: World
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "admin"))
        assert (await state(ctx))["providers"][PROVIDER] is True
        off = await browser.post(
            f"/backoffice/providers/{PROVIDER}", data={"csrf": csrf, "enabled": "0"}
        )
        assert off.status_code == 303
        assert off.headers["location"] == "/backoffice/providers"
        now = await state(ctx)
        assert now["providers"][PROVIDER] is False
        assert now["live"][PROVIDER] is False  # the running app stops offering it at once
        assert all(now["providers"][code] for code in now["providers"] if code != PROVIDER)
        assert await audited(ctx, "provider.disabled") == [(ADMIN, PROVIDER)]

        on = await browser.post(
            f"/backoffice/providers/{PROVIDER}", data={"csrf": csrf, "enabled": "1"}
        )
        assert on.status_code == 303
        now = await state(ctx)
        assert now["providers"][PROVIDER] is True
        assert now["live"][PROVIDER] is True
        assert (ADMIN, PROVIDER) in await audited(ctx, "provider.enabled")

    async def test_unknown_provider_is_a_404_and_changes_nothing(
        self, ctx: Context, browser: httpx.AsyncClient, world: World
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "admin"))
        before = await state(ctx)
        reply = await browser.post(
            "/backoffice/providers/no-such-bank", data={"csrf": csrf, "enabled": "0"}
        )
        assert reply.status_code == 404
        assert await state(ctx) == before


class TestResend:
    @pytest.mark.parametrize("role", ["admin", "finance"])
    async def test_resend_queues_a_new_delivery_of_the_same_event(
        self, ctx: Context, browser: httpx.AsyncClient, world: World, role: str
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, role))
        reply = await browser.post(
            f"/backoffice/webhooks/{world.delivery_id}/resend", data={"csrf": csrf}
        )
        assert reply.status_code == 303
        location = reply.headers["location"]
        assert location.startswith("/backoffice/webhooks?msg=resent&id=whd_")
        new_id = location.split("id=")[1]
        async with ctx.db.read() as session:
            original = await session.get(WebhookDelivery, world.delivery_id)
            again = await session.get(WebhookDelivery, new_id)
        assert original is not None
        assert again is not None
        assert again.event_id == original.event_id
        assert (again.status, again.attempts) == ("pending", 0)
        assert again.next_attempt_at.replace(tzinfo=None) <= ctx.clock.now().replace(tzinfo=None)
        page = await browser.get(location)
        assert new_id in page.text
        assert await audited(ctx, "webhook_delivery.resent") == [
            (f"staff:{role}@stc.gov.vn", world.delivery_id)
        ]
        async with ctx.db.read() as session:
            assert (await verify_audit(session)).ok


# --- walls ---------------------------------------------------------------------------------

# action -> (path, form fields besides the CSRF token); {key} and {delivery} are filled in.
ACTIONS: dict[str, tuple[str, dict[str, str]]] = {
    "issue_key": ("/backoffice/agencies/dvc-hcm/keys", {}),
    "revoke_key": ("/backoffice/agencies/keys/{key}/revoke", {}),
    "rotate_secret": ("/backoffice/agencies/dvc-hcm/webhook-secret", {}),
    "disable_provider": (f"/backoffice/providers/{PROVIDER}", {"enabled": "0"}),
    "resend": ("/backoffice/webhooks/{delivery}/resend", {}),
}
# Re-sending is a finance task too (docs/backoffice.md): its wall is for the others.
WALLS = [
    (action, who)
    for action in ACTIONS
    for who in (
        ("viewer", "agency_finance", "no_csrf")
        if action == "resend"
        else ("finance", "viewer", "no_csrf")
    )
]


class TestWalls:
    @pytest.mark.parametrize(("action", "who"), WALLS)
    async def test_refused_and_nothing_changes(
        self, ctx: Context, browser: httpx.AsyncClient, world: World, action: str, who: str
    ) -> None:
        role = "admin" if who == "no_csrf" else who
        agency = "dvc-hcm" if role == "agency_finance" else None
        csrf = await sign_in(browser, ctx, await create_user(ctx, role, agency=agency))
        path, fields = ACTIONS[action]
        path = path.format(key=world.key_id, delivery=world.delivery_id)
        form = fields if who == "no_csrf" else {"csrf": csrf, **fields}
        before = await state(ctx)
        reply = await browser.post(path, data=form)
        assert reply.status_code == 403, reply.text
        if who == "no_csrf":  # a wrong token is no better than none
            wrong = await browser.post(path, data={"csrf": csrf[:-2] + "xx", **fields})
            assert wrong.status_code == 403
        assert await state(ctx) == before
        assert await payments_status(browser, world.keys.api_key) == 200


# --- the re-authentication notice ----------------------------------------------------------


class TestReauthNotice:
    @pytest.mark.parametrize(
        ("lang", "generic", "refund_only"),
        [
            ("vi", "trước khi hoàn tiền hoặc phê duyệt", "trước khi hoàn tiền."),
            ("en", "before a refund or an approval", "before a refund."),
        ],
    )
    async def test_notice_is_generic_for_a_beneficiary_change(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        second_browser: httpx.AsyncClient,
        world: World,
        lang: str,
        generic: str,
        refund_only: str,
    ) -> None:
        asker = await create_user(ctx, "admin", email="a@stc.gov.vn")
        csrf = await sign_in(browser, ctx, asker)
        asked = await browser.post(
            "/backoffice/agencies/dvc-hcm/beneficiaries",
            data={"csrf": csrf, "account": "1903666777888@970407"},
        )
        assert asked.status_code == 303, asked.text
        await sign_in(second_browser, ctx, await create_user(ctx, "admin", email="b@stc.gov.vn"))
        page = await second_browser.get(f"/backoffice/approvals?lang={lang}")
        assert page.status_code == 200
        assert "1903666777888" in page.text  # a beneficiary change, not a refund
        assert generic in page.text
        assert refund_only not in page.text
        reauth = await second_browser.get(f"/backoffice/reauth?lang={lang}")
        assert generic in reauth.text


# --- NUL bytes -----------------------------------------------------------------------------


class TestNulBytes:
    """No id, search or form field of ours holds a NUL, and PostgreSQL refuses one in a
    query: a page, never a database error."""

    async def test_in_a_path_a_query_or_a_form(
        self, ctx: Context, browser: httpx.AsyncClient, world: World
    ) -> None:
        csrf = await sign_in(browser, ctx, await create_user(ctx, "admin"))
        before = await state(ctx)
        for path in ("/backoffice/payments/pay_%00", "/backoffice/payments?q=a%00b"):
            reply = await browser.get(path)
            assert reply.status_code == 404, path
            assert "<html" in reply.text
        disable = await browser.post("/backoffice/users/usr_%00/disable", data={"csrf": csrf})
        assert disable.status_code == 404
        created = await browser.post(
            "/backoffice/users", data={"csrf": csrf, "email": "a\x00@b.vn", "role": "viewer"}
        )
        assert created.status_code == 403  # the form reads as empty: no CSRF token
        page = await browser.get("/backoffice/login")
        login = await browser.post(
            "/backoffice/login",
            data={"csrf": csrf_of(page.text), "email": "a\x00@b.vn", "password": "x" * 12},
        )
        assert login.status_code == 403
        assert await state(ctx) == before
