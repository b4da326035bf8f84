"""Staff login and logout. Cookies: ``__Host-`` prefix, Secure, HttpOnly, SameSite=Strict."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from ..accounts import verify_password
from ..domain.models import StaffAccount
from ..services import Services
from ..store.sessions import StaffSession
from .appkeys import SERVICES
from .security import same_origin_request

SESSION_COOKIE = "__Host-nexus_session"
LOGIN_MIN_DURATION_S = 0.25  # every answer takes at least this long, success or failure


def set_session_cookie(response: web.StreamResponse, session_id: str, max_age_s: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        path="/",
        secure=True,
        httponly=True,
        samesite="Strict",
        max_age=max_age_s,
    )


async def current_staff(
    request: web.Request,
) -> tuple[StaffAccount, StaffSession] | None:
    """The signed-in, enabled staff account behind the request's cookie, or None."""
    services = request.app[SERVICES]
    session_id = request.cookies.get(SESSION_COOKIE, "")
    session = await services.sessions.get(session_id, services.clock_ms()) if session_id else None
    if session is None:
        return None
    account = services.staff.get(session.username)
    if account is None or account.disabled:
        await services.sessions.delete(session.session_id, session.username)
        return None
    return account, session


async def _check_password(services: Services, username: str, password: str) -> StaffAccount | None:
    account = services.staff.get(username)
    async with services.login_slots:  # a login flood cannot take every core from the chats
        ok = await asyncio.get_running_loop().run_in_executor(
            None, verify_password, account, password
        )
    return account if ok else None


async def login(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if not same_origin_request(request, services.settings.origin):
        raise web.HTTPForbidden(text="foreign origin")
    started = time.monotonic()
    form = await request.post()
    username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:1024]
    account = await _check_password(services, username, password)
    await asyncio.sleep(max(0.0, LOGIN_MIN_DURATION_S - (time.monotonic() - started)))
    if account is None:
        raise web.HTTPSeeOther("/console/login?failed=1")
    session = await services.sessions.create(account.username, services.clock_ms())
    response = web.HTTPSeeOther("/console/")
    set_session_cookie(response, session.session_id, services.settings.session_absolute_s)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if not same_origin_request(request, services.settings.origin):
        raise web.HTTPForbidden(text="foreign origin")
    staff = await current_staff(request)
    form = await request.post()
    if staff is not None:
        _, session = staff
        if form.get("csrf") != session.csrf_token:
            raise web.HTTPForbidden(text="missing or wrong CSRF token")
        await services.sessions.delete(session.session_id, session.username)
        await services.sessions.revoke_sockets(session)
    response = web.HTTPSeeOther("/console/login")
    response.del_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")
    raise response
