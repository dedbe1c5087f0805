"""Console accounts: login, logout, sessions, CSRF, the slow-down after failed logins, password change."""

from __future__ import annotations

import os
import stat

from sqlalchemy import select

from bot.app import build_app
from coach_console.security import load_secret_key
from data.models import AuditLog, ConsoleSession, LoginFailure
from tests.console.conftest import PASSWORD, csrf_of, login, make_coach, page_csrf


async def test_anonymous_visitors_are_sent_to_the_login_page(client):
    r = await client.get("/console/inbox")
    assert r.status_code == 303 and r.headers["location"] == "/console/login?next=/console/inbox"
    r = await client.get("/console")
    assert r.status_code == 307 and r.headers["location"] == "/console/"
    r = await client.get("/console/")
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    for path in ("/console/tickets/1", "/console/jongeren/1", "/console/inhoud", "/console/cijfers",
                 "/console/cijfers.csv", "/console/wachtwoord"):
        assert (await client.get(path)).status_code == 303, path
    assert (await client.get("/console/events")).status_code == 401
    page = await client.get("/console/login")
    assert page.status_code == 200 and 'lang="nl"' in page.text and '<label for="email">' in page.text
    assert "content-security-policy" in page.headers and page.headers["x-frame-options"] == "DENY"


async def test_login_sets_a_safe_cookie_and_logout_ends_the_session(runtime, client):
    coach = await make_coach(runtime, "bea@example.org")
    r = await login(client, "bea@example.org")
    assert r.status_code == 303 and r.headers["location"] == "/console/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("jl_console="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # PUBLIC_BASE_URL is not https here
    home = await client.get("/console/")
    assert home.headers["location"] == "/console/inbox"
    inbox = await client.get("/console/inbox")
    assert inbox.status_code == 200 and "Bea" in inbox.text
    async with runtime.db.session() as session:
        stored = (await session.execute(select(ConsoleSession))).scalars().all()
        assert len(stored) == 1 and stored[0].coach_id == coach.id
        token = client.cookies.get("jl_console")
        assert token and stored[0].id != token  # only the hash is stored
    # Logging out needs the CSRF token too.
    assert (await client.post("/console/logout")).status_code == 403
    r = await client.post("/console/logout", data={"csrf": csrf_of(inbox.text)})
    assert r.status_code == 303 and r.headers["location"] == "/console/login?melding=uitgelogd"
    client.cookies.set("jl_console", token, path="/console")  # an old cookie is worth nothing now
    assert (await client.get("/console/inbox")).status_code == 303
    async with runtime.db.session() as session:
        actions = [a.action for a in (await session.execute(select(AuditLog))).scalars()]
    assert "login" in actions and "logout" in actions


async def test_next_goes_back_to_the_page_asked_for_but_never_off_site(runtime, client):
    await make_coach(runtime, "nina@example.org")
    page = await client.get("/console/login?next=/console/cijfers")
    assert 'name="next" value="/console/cijfers"' in page.text
    r = await client.post("/console/login", data={"csrf": csrf_of(page.text), "email": "nina@example.org",
                                                  "password": PASSWORD, "next": "/console/cijfers"})
    assert r.headers["location"] == "/console/cijfers"
    client.cookies.clear()
    page = await client.get("/console/login")
    r = await client.post("/console/login", data={"csrf": csrf_of(page.text), "email": "nina@example.org",
                                                  "password": PASSWORD, "next": "//evil.example/console/"})
    assert r.headers["location"] == "/console/"


async def test_secure_cookie_behind_https(runtime):
    import httpx

    runtime.settings.public_base_url = "https://loket.example.org"
    runtime.settings.secret_key = "k" * 40
    await make_coach(runtime, "sec@example.org")
    transport = httpx.ASGITransport(app=build_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as client:
        r = await login(client, "sec@example.org")
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("jl_console="))
        assert "Secure" in cookie and "HttpOnly" in cookie


async def test_posts_without_or_with_a_wrong_csrf_token_are_refused(runtime, client):
    await make_coach(runtime, "carl@example.org")
    page = await client.get("/console/login")
    no_token = await client.post("/console/login", data={"email": "carl@example.org", "password": PASSWORD})
    assert no_token.status_code == 403
    wrong = await client.post("/console/login", data={"csrf": "0" * 64, "email": "carl@example.org",
                                                      "password": PASSWORD})
    assert wrong.status_code == 403 and "jl_console" not in wrong.headers.get("set-cookie", "")
    assert (await client.post("/console/login", data={"csrf": csrf_of(page.text), "email": "carl@example.org",
                                                      "password": PASSWORD})).status_code == 303
    for path in ("/console/wachtwoord", "/console/tickets/1/antwoord", "/console/tickets/1/oppakken",
                 "/console/tickets/1/terug-naar-bot", "/console/tickets/1/notitie", "/console/logout"):
        assert (await client.post(path, data={"text": "hoi"})).status_code == 403, path
        assert (await client.post(path, data={"text": "hoi", "csrf": "x" * 64})).status_code == 403, path
    # A token from another session does not fit this one.
    _, mine = await page_csrf(client, "/console/wachtwoord")
    client.cookies.clear()
    await login(client, "carl@example.org")
    r = await client.post("/console/wachtwoord", data={"csrf": mine, "current": PASSWORD, "new": "x" * 20,
                                                      "repeat": "x" * 20})
    assert r.status_code == 403


async def test_repeated_wrong_passwords_lock_the_login_for_a_while(runtime, client):
    await make_coach(runtime, "dina@example.org")
    for attempt in range(4):
        r = await login(client, "dina@example.org", "wrong password")
        assert r.status_code == 401 and "horen niet bij elkaar" in r.text, attempt
    r = await login(client, "dina@example.org", "wrong password")  # the fifth failure starts a lockout
    assert r.status_code == 429 and "Probeer het over" in r.text
    r = await login(client, "dina@example.org")  # even the right password waits now
    assert r.status_code == 429 and "jl_console" not in r.headers.get("set-cookie", "")
    async with runtime.db.session() as session:
        rows = (await session.execute(select(LoginFailure))).scalars().all()
    assert len(rows) == 1 and rows[0].failures == 5 and "dina" not in rows[0].key  # a hash, no e-mail
    # Another address from the same IP is not locked.
    await make_coach(runtime, "eva@example.org")
    assert (await login(client, "eva@example.org")).status_code == 303


async def test_unknown_email_fails_like_a_wrong_password(runtime, client):
    r = await login(client, "nobody@example.org")
    assert r.status_code == 401 and "horen niet bij elkaar" in r.text


async def test_password_change_checks_the_old_one_and_ends_other_sessions(runtime, client, app):
    import httpx

    await make_coach(runtime, "finn@example.org")
    await login(client, "finn@example.org")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 4001))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as other:
        await login(other, "finn@example.org")
        assert (await other.get("/console/inbox")).status_code == 200
        _, token = await page_csrf(client, "/console/wachtwoord")
        bad = await client.post("/console/wachtwoord", data={"csrf": token, "current": "nope", "new": "short",
                                                             "repeat": "other"})
        assert bad.status_code == 400 and "klopt niet" in bad.text and "minstens 12" in bad.text
        new = "een nieuw lang wachtwoord"
        ok = await client.post("/console/wachtwoord", data={"csrf": token, "current": PASSWORD, "new": new,
                                                            "repeat": new})
        assert ok.status_code == 303 and ok.headers["location"].endswith("melding=wachtwoord")
        assert (await client.get("/console/inbox")).status_code == 200  # this session stays
        assert (await other.get("/console/inbox")).status_code == 303  # the other one ended
    client.cookies.clear()
    assert (await login(client, "finn@example.org")).status_code == 401
    assert (await login(client, "finn@example.org", new)).status_code == 303


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = load_secret_key("", tmp_path)
    assert len(first) >= 40 and load_secret_key("", tmp_path) == first
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    assert load_secret_key("configured", tmp_path) == b"configured"
