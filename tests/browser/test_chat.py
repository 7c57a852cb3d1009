"""The chat demo in a real headless Chromium: two people log in, share a room, talk, see each
other typing, leave; announcements sent over HTTP and from a page reach everyone."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import expect

from .conftest import Pages

SESSION_COOKIE = "expressio.sid"


def session_cookie(page: Any) -> str | None:
    for cookie in page.context.cookies():
        if cookie["name"] == SESSION_COOKIE:
            value: str = cookie["value"]
            return value
    return None


def log_in(pages: Pages, url: str, nickname: str) -> Any:
    page = pages.new(nickname)
    page.goto(url)
    page.fill("#nickname", nickname)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#me")).to_have_text(nickname)
    expect(page.locator("#status")).to_have_text("connected")
    return page


def join(page: Any, room: str) -> None:
    """Join through the form (a room not in the list yet) or the room list."""
    listed = page.locator(f"#room-list li[data-room='{room}'] button")
    if listed.count():
        listed.click()
    else:
        page.fill("#join-name", room)
        page.click("#join-form button")
    expect(page.locator("#room-title")).to_have_text(f"#{room}")


def send(page: Any, text: str) -> None:
    page.fill("#message-text", text)
    page.press("#message-text", "Enter")


def members(page: Any) -> Any:
    return page.locator("#member-list li")


def test_login_stores_the_nickname_in_a_regenerated_session(pages: Pages, chat_url: str) -> None:
    page = pages.new("visitor")
    page.goto(chat_url)
    expect(page.locator("#login-form")).to_be_visible()
    before = session_cookie(page)
    assert before is not None, "the first page view already starts a session"

    page.click("#login-form button[type=submit]")  # empty: the browser's own check stops it
    page.fill("#nickname", "   ")
    page.click("#login-form button[type=submit]")
    expect(page.locator(".error")).to_have_text("Please choose a nickname")

    page.fill("#nickname", "  Ada   Lovelace ")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#me")).to_have_text("Ada Lovelace")
    after = session_cookie(page)
    assert after is not None and after != before, "login must give the session a new id"

    # The realtime side reads the same session: joining a room lists the nickname.
    expect(page.locator("#status")).to_have_text("connected")
    join(page, "login-check")
    expect(members(page)).to_have_text(["Ada Lovelace"])

    page.reload()  # still logged in: the session cookie carries the nickname
    expect(page.locator("#me")).to_have_text("Ada Lovelace")
    page.click("text=Log out")
    expect(page.locator("#login-form")).to_be_visible()
    assert page.errors == []


def test_two_people_chat_in_a_room(pages: Pages, chat_url: str) -> None:
    ada = log_in(pages, chat_url, "ada")
    grace = log_in(pages, chat_url, "grace")
    join(ada, "lab")
    expect(members(ada)).to_have_text(["ada"])
    # grace sees the new room, with its one member, in her room list
    expect(grace.locator("#room-list li[data-room='lab'] .count")).to_have_text("1")
    join(grace, "lab")
    for page in (ada, grace):
        expect(members(page)).to_have_text(["ada", "grace"])
    expect(ada.locator("#messages .system")).to_have_text(["grace joined"])

    # A message shows at once for the sender, reaches the room, and is acknowledged.
    send(ada, "Hello Grace!")
    expect(grace.locator("#messages .message")).to_have_count(1)
    expect(grace.locator("#messages .message .author")).to_have_text("ada")
    expect(grace.locator("#messages .message .text")).to_have_text("Hello Grace!")
    expect(ada.locator("#messages .message.mine .delivery")).to_have_text("✓ delivered")
    # sender excluded from the broadcast: ada's page holds her own message once, not twice
    expect(ada.locator("#messages .message")).to_have_count(1)

    # Typing shows on the other page, and goes away when the message arrives.
    grace.locator("#message-text").press_sequentially("Hi Ada")
    expect(ada.locator("#typing")).to_have_text("grace is typing…")
    expect(grace.locator("#typing")).to_have_text("")
    grace.press("#message-text", "Enter")
    expect(ada.locator("#messages .message .text")).to_have_text(["Hello Grace!", "Hi Ada"])
    expect(ada.locator("#typing")).to_have_text("")
    expect(grace.locator("#messages .message.mine .delivery")).to_have_text("✓ delivered")

    # grace leaves: her page leaves the room, ada's member list shrinks.
    grace.click("#leave-button")
    expect(grace.locator("#room-title")).to_have_text("Pick a room")
    expect(members(ada)).to_have_text(["ada"])
    expect(ada.locator("#messages .system")).to_have_text(["grace joined", "grace left"])
    send(ada, "Anyone there?")
    expect(ada.locator("#messages .message.mine .delivery")).to_have_text(
        ["✓ delivered", "✓ delivered"]
    )
    # Messages of a room she left never reach her.
    join(grace, "lab")
    expect(members(ada)).to_have_text(["ada", "grace"])
    expect(grace.locator("#messages .message .text")).to_have_text(
        ["Hello Grace!", "Hi Ada", "Anyone there?"]  # the room's history, sent on join
    )
    assert ada.errors == [] and grace.errors == []


def test_announcements_reach_every_page(pages: Pages, chat_url: str) -> None:
    ada = log_in(pages, chat_url, "ada")
    grace = log_in(pages, chat_url, "grace")

    # Over HTTP: POST /api/announce is forwarded into the realtime "announce" route.
    reply = httpx.post(f"{chat_url}/api/announce", json={"text": "Deploy at five"}, timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"announced": True}
    for page in (ada, grace):
        banner = page.locator("#announcements .announcement").first
        expect(banner).to_contain_text("Announcement from the server")
        expect(banner).to_contain_text("Deploy at five")

    refused = httpx.post(f"{chat_url}/api/announce", json={"text": " "}, timeout=10)
    assert refused.status_code == 400
    assert refused.json() == {"error": "An announcement needs some text"}

    # From a page, over the socket: the sender's nickname comes from the session.
    grace.fill("#announce-text", "Coffee is ready")
    grace.press("#announce-text", "Enter")
    for page in (ada, grace):
        banner = page.locator("#announcements .announcement").first
        expect(banner).to_contain_text("Announcement from grace")
        expect(banner).to_contain_text("Coffee is ready")
    expect(grace.locator("#announce-text")).to_have_value("")
    assert ada.errors == [] and grace.errors == []
