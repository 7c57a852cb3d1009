"""The chat demo in a real headless Chromium: two people log in, share a room, talk, see each
other typing, leave; announcements sent over HTTP and from a page reach everyone; a reload
keeps the rooms; the page fits a wide window and a phone."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from .conftest import CHAT_APP, Pages

SESSION_COOKIE = "expressio.sid"
# How long a closed connection stays in its rooms (the demo's REJOIN_GRACE).
REJOIN_GRACE = float(re.search(r"^REJOIN_GRACE = ([\d.]+)", CHAT_APP.read_text(), re.M)[1])

# How many lines an element's text takes: the distinct tops of its line boxes.
LINES_JS = """(element) => {
  const range = document.createRange();
  range.selectNodeContents(element);
  const tops = [...range.getClientRects()].map((rect) => rect.top).sort((a, b) => a - b);
  return tops.filter((top, index) => index === 0 || top - tops[index - 1] > 4).length;
}"""

# The width of an input's placeholder text, and the room the input has for it.
PLACEHOLDER_JS = """(input) => {
  const style = getComputedStyle(input);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return { name: input.id, text: context.measureText(input.placeholder).width, room };
}"""


def session_cookie(page: Any) -> str | None:
    for cookie in page.context.cookies():
        if cookie["name"] == SESSION_COOKIE:
            value: str = cookie["value"]
            return value
    return None


def log_in(pages: Pages, url: str, nickname: str, width: int = 1100, height: int = 700) -> Any:
    page = pages.new(nickname, width, height)
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


def height(page: Any, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    value: float = box["height"]
    return value


def lines(page: Any, selector: str) -> int:
    count: int = page.locator(selector).evaluate(LINES_JS)
    return count


def assert_placeholders_fit(page: Any) -> None:
    """Every shown input shows its whole placeholder."""
    inputs = page.locator("input[placeholder]:visible")
    assert inputs.count() > 0
    for index in range(inputs.count()):
        measured = inputs.nth(index).evaluate(PLACEHOLDER_JS)
        assert measured["text"] <= measured["room"], f"placeholder cut off: {measured}"


def test_login_stores_the_nickname_in_a_regenerated_session(pages: Pages, chat_url: str) -> None:
    page = pages.new("visitor")
    page.goto(chat_url)
    expect(page.locator("#login-form")).to_be_visible()
    before = session_cookie(page)  # None: an empty session is neither stored nor sent

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


def test_a_reload_keeps_the_rooms_quietly_and_my_messages_as_mine(
    pages: Pages, chat_url: str
) -> None:
    ada = log_in(pages, chat_url, "ada")
    bob = log_in(pages, chat_url, "bob")
    join(ada, "reload")
    join(bob, "reload")
    expect(members(ada)).to_have_text(["ada", "bob"])
    expect(ada.locator("#messages .system")).to_have_text(["bob joined"])
    send(bob, "Before the reload")
    expect(bob.locator("#messages .message.mine .delivery")).to_have_text("✓ delivered")
    send(ada, "Welcome back")
    expect(bob.locator("#messages .message")).to_have_count(2)

    bob.reload()
    # The page shows the room again by itself: the session remembers it, and the server puts
    # the new connection back in it.
    expect(bob.locator("#status")).to_have_text("connected")
    expect(bob.locator("#room-title")).to_have_text("#reload")
    expect(bob.locator("#leave-button")).to_be_visible()
    expect(members(bob)).to_have_text(["ada", "bob"])
    # From the history, bob's own message is his (on the right, in his colour), ada's is hers.
    expect(bob.locator("#messages .message.mine .text")).to_have_text(["Before the reload"])
    expect(bob.locator("#messages .message.mine .delivery")).to_have_text("✓ delivered")
    expect(bob.locator("#messages .message:not(.mine) .text")).to_have_text(["Welcome back"])
    mine = bob.locator("#messages .message.mine").bounding_box()
    theirs = bob.locator("#messages .message:not(.mine)").bounding_box()
    assert mine is not None and theirs is not None and mine["x"] > theirs["x"] + 50

    # ada saw nothing of it: no "bob left", no "bob joined", even after the grace period.
    ada.wait_for_timeout((REJOIN_GRACE + 1) * 1000)
    expect(ada.locator("#messages .system")).to_have_text(["bob joined"])
    expect(members(ada)).to_have_text(["ada", "bob"])
    send(bob, "After the reload")  # the new connection is really in the room
    expect(ada.locator("#messages .message .text")).to_have_text(
        ["Before the reload", "Welcome back", "After the reload"]
    )

    # Closing the page is leaving: after the grace period ada sees bob go.
    context = bob.context
    bob.close()
    expect(members(ada)).to_have_text(["ada"], timeout=(REJOIN_GRACE + 5) * 1000)
    expect(ada.locator("#messages .system")).to_have_text(["bob joined", "bob left"])

    # A new page of bob's session comes back to the room; a room left on purpose is forgotten.
    bob = context.new_page()
    bob.goto(chat_url)
    expect(bob.locator("#room-title")).to_have_text("#reload")
    expect(members(ada)).to_have_text(["ada", "bob"])
    bob.click("#leave-button")
    expect(bob.locator("#room-title")).to_have_text("Pick a room")
    expect(members(ada)).to_have_text(["ada"])
    bob.reload()
    expect(bob.locator("#status")).to_have_text("connected")
    join(bob, "elsewhere")  # answered after the connection's rejoining: it rejoined nothing
    expect(bob.locator("#room-list li.joined")).to_have_count(1)
    expect(bob.locator("#room-list li.joined")).to_have_attribute("data-room", "elsewhere")
    expect(ada.locator("#messages .system")).to_have_text(
        ["bob joined", "bob left", "bob joined", "bob left"]
    )
    assert ada.errors == []


def test_a_wide_window_shows_whole_placeholders_and_a_steady_room_header(
    pages: Pages, chat_url: str
) -> None:
    page = log_in(pages, chat_url, "ada", width=1280, height=800)
    expect(page.locator("#sidebar")).to_be_visible()
    expect(page.locator("#sidebar-toggle")).to_be_hidden()  # wide: the sidebar always shows
    assert height(page, ".topbar") <= 56
    assert_placeholders_fit(page)  # "To everyone, everywhere" used to be cut off

    # The room header keeps its height when "Leave room" appears and goes (it grew by 14 px).
    before = height(page, ".room-header")
    expect(page.locator("#leave-button")).to_be_hidden()
    join(page, "steady")
    expect(page.locator("#leave-button")).to_be_visible()
    assert height(page, ".room-header") == before
    page.click("#leave-button")
    expect(page.locator("#room-title")).to_have_text("Pick a room")
    expect(page.locator("#leave-button")).to_be_hidden()
    assert height(page, ".room-header") == before
    assert page.errors == []


def test_a_phone_shows_a_one_line_header_and_the_room_under_it(pages: Pages, chat_url: str) -> None:
    page = log_in(pages, chat_url, "Grace Hopper", width=390, height=800)
    # One line: the header is as tall as one row of its items (it was 84 px, the name took
    # 4 lines and "Log out" 2).
    assert height(page, ".topbar") <= 56
    for selector in ("#sidebar-toggle", ".topbar h1", ".signed-in", ".topbar .link"):
        assert lines(page, selector) == 1, selector

    # The sidebar starts collapsed: the room has the page (its messages had 121 px).
    sidebar, toggle = page.locator("#sidebar"), page.locator("#sidebar-toggle")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    assert height(page, "#messages") >= 400

    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert_placeholders_fit(page)
    join(page, "general")  # picking a room closes the sidebar and shows the room
    expect(sidebar).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    assert height(page, "#messages") >= 400
    assert height(page, ".topbar") <= 56
    send(page, "Hello from a phone")
    expect(page.locator("#messages .message.mine .delivery")).to_have_text("✓ delivered")

    toggle.click()
    expect(sidebar).to_be_visible()
    toggle.click()
    expect(sidebar).to_be_hidden()
    assert page.errors == []
