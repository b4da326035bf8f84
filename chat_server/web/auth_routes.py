"""Staff login and logout. Cookies: ``__Host-`` prefix, Secure, HttpOnly, SameSite=Strict.

Every failed login, whatever the cause (unknown user, disabled account, wrong password,
wrong or reused second-factor code, a login throttle wait), gets the same answer after the
same work: an argon2id verification. See ``store/login_throttle.py`` for the throttling.

Sign-ins, failed sign-ins and sign-outs go to the staff audit log (docs/audit.md): a failed
sign-in names the attempted account only if it exists, never the address it came from.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time

from aiohttp import web
from redis.exceptions import RedisError

from ..accounts import matching_totp_step, needs_rehash, verify_password
from ..domain.audit import AuditKind, failed_sign_in_actor
from ..domain.models import StaffAccount
from ..services import Services
from ..store.login_throttle import LoginThrottle, ThrottleSettings
from ..store.sessions import StaffSession
from .appkeys import SERVICES
from .audit_trail import record
from .bodies import UnreadableBody, read_form
from .security import same_origin_request

log = logging.getLogger(__name__)

SESSION_COOKIE = "__Host-nexus_session"
CSRF_HEADER = "X-CSRF-Token"
LOGIN_MIN_DURATION_S = 0.25  # every answer takes at least this long, success or failure
LOGIN_FAILED_URL = "/console/login?failed=1"
LOGIN_THROTTLE = web.AppKey("login_throttle", LoginThrottle)
"""Set by ``console_features.add_console_routes``; a default throttle is used without it."""


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


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="Strict")


def session_is_current(services: Services, account: StaffAccount, session: StaffSession) -> bool:
    """An enabled account whose password, role and second factor are unchanged since login."""
    return not account.disabled and session.epoch == services.staff.session_epoch(account.username)


async def current_staff(
    request: web.Request,
) -> tuple[StaffAccount, StaffSession] | None:
    """The signed-in, enabled staff account behind the request's cookie, or None.

    A session of a disabled account, or one made before the account's password, role or
    second factor changed, is deleted on sight (this is what revokes sessions when the CLI
    could not reach Redis)."""
    services = request.app[SERVICES]
    session_id = request.cookies.get(SESSION_COOKIE, "")
    # Our ids are ASCII; a cookie with other bytes (kept as lone surrogates) cannot be one.
    known = session_id.isascii() and bool(session_id)
    session = await services.sessions.get(session_id, services.clock_ms()) if known else None
    if session is None:
        return None
    account = services.staff.get(session.username)
    if account is None or not session_is_current(services, account, session):
        await services.sessions.delete(session.session_id, session.username)
        return None
    return account, session


def csrf_ok(request: web.Request, session: StaffSession, form_token: str = "") -> bool:
    """The request came from our own page (Origin / Fetch Metadata) and carries the session's
    CSRF token, in the ``X-CSRF-Token`` header or the ``csrf`` form field."""
    services = request.app[SERVICES]
    if not same_origin_request(request, services.settings.origin):
        return False
    sent = request.headers.get(CSRF_HEADER, "") or form_token
    # surrogatepass: a header's undecodable bytes arrive as lone surrogates; they never match.
    return bool(sent) and hmac.compare_digest(
        sent.encode("utf-8", "surrogatepass"), session.csrf_token.encode()
    )


def login_throttle(request: web.Request) -> LoginThrottle:
    services = request.app[SERVICES]
    throttle = request.app.get(LOGIN_THROTTLE)
    if throttle is None:
        throttle = LoginThrottle(services.redis, services.keys.prefix, ThrottleSettings())
    return throttle


async def _check_password(services: Services, username: str, password: str) -> StaffAccount | None:
    account = services.staff.get(username)
    async with services.login_slots:  # a login flood cannot take every core from the chats
        ok = await asyncio.get_running_loop().run_in_executor(
            None, verify_password, account, password
        )
    return account if ok else None


async def _second_factor_ok(
    throttle: LoginThrottle, account: StaffAccount, code: str, now_ms: int
) -> bool:
    if not account.totp_secret:
        return True
    step = matching_totp_step(account.totp_secret, code, now_ms / 1000)
    return step is not None and await throttle.claim_totp_step(account.username, step)


async def _rehash_if_needed(services: Services, account: StaffAccount, password: str) -> None:
    """Re-hash with the current argon2 parameters; a read-only staff file only logs."""
    if not needs_rehash(account):
        return
    async with services.login_slots:
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, services.staff.rehash, account.username, password
            )
        except OSError as error:
            log.warning("could not store a rehashed password: %s", type(error).__name__)


async def _form(request: web.Request) -> dict[str, str]:
    """The posted form's text fields; a plain 400 (413 when too large) for a form that cannot
    be read."""
    try:
        return await read_form(request)
    except UnreadableBody as error:
        if error.status == 413:
            raise web.HTTPRequestEntityTooLarge(
                request.client_max_size, request.content_length or 0
            ) from None
        raise web.HTTPBadRequest(text="the form could not be read") from None


async def _verified_account(request: web.Request, services: Services) -> StaffAccount | None:
    form = await _form(request)
    username = form.get("username", "")[:64].strip().lower()
    password = form.get("password", "")[:1024]
    code = form.get("code", "")[:16]
    throttle = login_throttle(request)
    await asyncio.sleep(await throttle.wait_before_check_s(username, services.clock_ms()))
    started = time.monotonic()
    account = await _check_password(services, username, password)
    ok = account is not None and await _second_factor_ok(
        throttle, account, code, services.clock_ms()
    )
    await asyncio.sleep(max(0.0, LOGIN_MIN_DURATION_S - (time.monotonic() - started)))
    if account is None or not ok:
        await throttle.record_failure(username, services.clock_ms())
        known = services.staff.get(username) is not None
        reason = "credentials" if account is None else "second_factor"
        actor = failed_sign_in_actor(username, known)
        await record(request.app, AuditKind.SIGN_IN_FAILED, actor, reason=reason)
        return None
    await throttle.record_success(username)
    await _rehash_if_needed(services, account, password)
    return account


async def login(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    if not same_origin_request(request, services.settings.origin):
        raise web.HTTPForbidden(text="foreign origin")
    try:
        account = await _verified_account(request, services)
        if account is None:
            raise web.HTTPSeeOther(LOGIN_FAILED_URL)
        # A new id at every login; an old session presented with the form is ended.
        old = request.cookies.get(SESSION_COOKIE, "")
        previous = await services.sessions.get(old, services.clock_ms()) if old else None
        if previous is not None:
            await services.sessions.delete(previous.session_id, previous.username)
            await services.sessions.revoke_sockets(previous)
        session = await services.sessions.create(
            account.username,
            services.clock_ms(),
            epoch=services.staff.session_epoch(account.username),
        )
    except RedisError:
        raise web.HTTPServiceUnavailable(text="the service is temporarily unavailable") from None
    await record(request.app, AuditKind.SIGN_IN, account.username)
    response = web.HTTPSeeOther("/console/")
    set_session_cookie(response, session.session_id, services.settings.session_absolute_s)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """End this session (CSRF-checked) and close the console sockets opened with it."""
    services = request.app[SERVICES]
    if not same_origin_request(request, services.settings.origin):
        raise web.HTTPForbidden(text="foreign origin")
    staff = await current_staff(request)
    form = await _form(request)
    if staff is not None:
        _, session = staff
        if not csrf_ok(request, session, form.get("csrf", "")):
            raise web.HTTPForbidden(text="missing or wrong CSRF token")
        # Recorded before, not after: the answer follows the revocation at once, as a client
        # that waits for it before reading its socket needs (test_signing_out_closes_the_view).
        await record(request.app, AuditKind.SIGN_OUT, session.username)
        await services.sessions.delete(session.session_id, session.username)
        await services.sessions.revoke_sockets(session)
    response = web.HTTPSeeOther("/console/login")
    clear_session_cookie(response)
    raise response


async def logout_everywhere(request: web.Request) -> web.StreamResponse:
    """End every session of the signed-in account (CSRF-checked) and close all its consoles."""
    services = request.app[SERVICES]
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther("/console/login")
    form = await _form(request)
    if not csrf_ok(request, staff[1], form.get("csrf", "")):
        raise web.HTTPForbidden(text="missing or wrong CSRF token")
    await record(request.app, AuditKind.SIGN_OUT_EVERYWHERE, staff[0].username)  # see logout
    await services.sessions.delete_all_for(staff[0].username)
    response = web.HTTPSeeOther("/console/login")
    clear_session_cookie(response)
    raise response
