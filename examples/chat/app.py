"""expressio chat: HTTP login, shared session, rooms, typing, acks and announcements.

Run it (``scripts/run.sh`` does) and open http://127.0.0.1:7076/ in two browser tabs::

    python examples/chat/app.py [--port 7076] [--host 127.0.0.1]

What each part shows:

- ``POST /login`` stores the nickname in the session, after ``regenerate()`` (a new session id
  at login defeats session fixation); realtime routes read it back from ``req.session``.
- ``room:join`` / ``room:leave`` (one namespaced route) join and leave Socket.IO rooms and keep
  a member list per room, sent to the room whenever it changes. The session remembers the
  rooms joined: a reloaded page's new connection is put back in them by the ``connect`` hook,
  and a closed connection leaves its rooms only after ``REJOIN_GRACE`` seconds, so a reload
  shows no "left"/"joined" to the others.
- ``chat:say`` broadcasts to the room without the sender (``req.io.room(r).broadcast``), who has
  already shown the message, and acknowledges delivery with ``req.io.respond``.
- ``chat:typing`` tells the room who is typing.
- ``announce`` reaches every client through ``app.io.broadcast``; ``POST /api/announce`` forwards
  an HTTP request into that same route with ``req.io.route("announce")``, after checking its
  JSON body (anything else is refused with a 400 and a JSON ``{"error": ...}``)::

      curl -H 'content-type: application/json' -d '{"text": "Hello all"}' \\
           http://127.0.0.1:7076/api/announce

In development (``EXPRESSIO_ENV`` unset) ``app.listen()`` prints a line per HTTP request and per
realtime connection and disconnection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import re
import secrets
import socket
import sys
import time
from collections import deque
from http import HTTPStatus
from pathlib import Path
from typing import Any

import expressio

HERE = Path(__file__).resolve().parent
DEFAULT_ROOMS = ("general", "random", "python")
ROOM_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
MAX_NICKNAME = 24
MAX_MESSAGE = 500
HISTORY = 50  # messages a room keeps for people who join later
REJOIN_GRACE = 3.0  # seconds a closed connection stays in its rooms: time for a reload to return

app = expressio.express()
app.http().io()
app.set("views", HERE / "templates")
# A fresh secret per run is fine for a demo whose sessions live in memory anyway.
app.use(expressio.session(secret=os.environ.get("EXPRESSIO_CHAT_SECRET") or secrets.token_hex(16)))
app.use("/static", expressio.static(HERE / "static"))
app.use(expressio.urlencoded())
app.use(expressio.json())


class Rooms:
    """Who is in which room (socket id → nickname) and each room's recent messages."""

    def __init__(self) -> None:
        self.members: dict[str, dict[str, str]] = {name: {} for name in DEFAULT_ROOMS}
        self.history: dict[str, deque[dict[str, Any]]] = {}

    def join(self, room: str, socket_id: str, nickname: str) -> None:
        self.members.setdefault(room, {})[socket_id] = nickname

    def leave(self, room: str, socket_id: str) -> bool:
        """Forget ``socket_id`` in ``room``; True if it was there. Empty rooms the user made
        disappear; the default ones stay."""
        present = self.members.get(room, {}).pop(socket_id, None) is not None
        if present and not self.members[room] and room not in DEFAULT_ROOMS:
            del self.members[room]
            self.history.pop(room, None)
        return present

    def rooms_of(self, socket_id: str) -> list[str]:
        return [room for room, members in self.members.items() if socket_id in members]

    def nicknames(self, room: str) -> list[str]:
        # One person with two tabs is one member.
        return sorted(set(self.members.get(room, {}).values()), key=str.casefold)

    def counts(self) -> dict[str, int]:
        return {room: len(self.nicknames(room)) for room in self.members}

    def remember(self, room: str, message: dict[str, Any]) -> None:
        self.history.setdefault(room, deque(maxlen=HISTORY)).append(message)

    def joined(self, room: str) -> dict[str, Any]:
        """What a page that joins ``room`` gets: its history and members."""
        return {
            "room": room,
            "history": list(self.history.get(room, ())),
            "members": self.nicknames(room),
        }


rooms = Rooms()


def nickname_of(req: Any) -> str | None:
    """The nickname the login form stored in the session (HTTP and realtime alike)."""
    session = req.session
    return session.get("nickname") if session is not None else None


def publish_members(room: str) -> None:
    """Send the room's member list to everyone in it, and the room counts to everyone."""
    app.io.room(room).broadcast("room:members", {"room": room, "members": rooms.nicknames(room)})
    app.io.broadcast("rooms", rooms.counts())


def clean_room(value: Any) -> str | None:
    name = str(value or "").strip().lower().lstrip("#")
    return name if ROOM_NAME.match(name) else None


def clean_text(value: Any) -> str:
    return str(value or "").strip()[:MAX_MESSAGE]


def remembered_rooms(req: Any) -> list[str]:
    """The rooms the session has joined (kept there so that a reloaded page gets them back)."""
    session = req.session
    return list(session.get("rooms", ())) if session is not None else []


def remember_rooms(req: Any, names: list[str]) -> None:
    if req.session is not None:
        req.session["rooms"] = names  # a new list: the session sees the change and saves it


def refuse(res: Any, status: int, message: str) -> None:
    """An API error: JSON ``{"error": message}`` ending with a newline (tidy under curl)."""
    res.status(status).type("json").end(json.dumps({"error": message}) + "\n")


# -- HTTP ----------------------------------------------------------------------------------


@app.get("/")
def index(req: Any, res: Any) -> None:
    nickname = nickname_of(req)
    if nickname is None:
        res.render("login.html", {"error": req.query.get("error")})
    else:
        res.render("chat.html", {"nickname": nickname})


@app.post("/login")
def login(req: Any, res: Any) -> None:
    nickname = " ".join(str((req.body or {}).get("nickname", "")).split())[:MAX_NICKNAME]
    if not nickname:
        res.redirect("/?error=Please+choose+a+nickname")
        return
    req.session.regenerate()  # a new session id now that the visitor has a name
    req.session["nickname"] = nickname
    res.redirect("/")


@app.post("/logout")
def logout(req: Any, res: Any) -> None:
    req.session.destroy()
    res.redirect("/")


@app.post("/api/announce")
async def announce_over_http(req: Any, res: Any) -> None:
    body = req.body
    if not req.is_type("json") or not isinstance(body, dict):
        refuse(res, 400, 'Send a JSON object such as {"text": "Hello all"}')
        return
    if not clean_text(body.get("text")):
        refuse(res, 400, "An announcement needs some text")
        return
    # The realtime route reads req.data (this JSON body) and answers with respond().
    await req.io.route("announce")


@app.use("/api")
def api_errors(err: Any, req: Any, res: Any, next: Any) -> None:
    """The API's errors answer JSON too: malformed JSON (the json() parser's 400), a body too
    large (413)... Server errors keep the default answer."""
    status = getattr(err, "status", 500)
    if status >= 500:
        next(err)
        return
    refuse(res, status, str(err) or HTTPStatus(status).phrase)


# -- realtime ------------------------------------------------------------------------------


@app.io.route("connect")
async def connected(req: Any) -> None:
    # A page of a session that has joined rooms (a reload, a second tab) is put back in them
    # at once. Its nickname is still listed there (see disconnected), so nobody sees it leave
    # and join again.
    nickname = nickname_of(req)
    rejoined = []
    if nickname is not None:
        for room in remembered_rooms(req):
            req.io.join(room)
            rooms.join(room, req.socket.id, nickname)
            rejoined.append(rooms.joined(room))
    req.io.emit("rooms", rooms.counts())
    if nickname is not None:
        req.io.emit("rooms:rejoined", rejoined)
    for entry in rejoined:
        publish_members(entry["room"])


@app.io.route("disconnect")
async def disconnected(req: Any) -> None:
    if req.data == "server shutting down":
        return  # everyone is leaving: nobody to tell
    # A reloading page closes its connection before the new one connects: its rooms keep it
    # listed a little longer, time for the new connection to take its place.
    await asyncio.sleep(REJOIN_GRACE)
    for room in rooms.rooms_of(req.socket.id):
        rooms.leave(room, req.socket.id)
        publish_members(room)


async def join_room(req: Any) -> None:
    nickname = nickname_of(req)
    room = clean_room((req.data or {}).get("room"))
    if nickname is None:
        req.io.respond({"error": "Please log in again"})
        return
    if room is None:
        req.io.respond({"error": "Room names are 1-24 letters, digits, - or _"})
        return
    req.io.join(room)
    rooms.join(room, req.socket.id, nickname)
    if room not in (remembered := remembered_rooms(req)):
        remember_rooms(req, [*remembered, room])
    # The answer carries the members too: as the session changed, it leaves once the session
    # is saved, and the room:members below may reach the page before it (and be ignored).
    req.io.respond(rooms.joined(room))
    publish_members(room)


async def leave_room(req: Any) -> None:
    room = clean_room((req.data or {}).get("room"))
    if room is None:
        req.io.respond({"error": "No such room"})
        return
    req.io.leave(room)
    if room in (remembered := remembered_rooms(req)):
        remember_rooms(req, [name for name in remembered if name != room])
    if rooms.leave(room, req.socket.id):
        publish_members(room)
    req.io.respond({"room": room})


app.io.route("room", {"join": join_room, "leave": leave_room})


async def say(req: Any) -> None:
    nickname = nickname_of(req)
    data = req.data or {}
    room = clean_room(data.get("room"))
    text = clean_text(data.get("text"))
    if nickname is None or room not in req.socket.rooms or not text:
        req.io.respond({"error": "Not delivered: join the room (and be logged in) first"})
        return
    message = {"room": room, "from": nickname, "text": text, "at": int(time.time() * 1000)}
    rooms.remember(room, message)
    # The sender shows its own message at once; everyone else in the room gets it here.
    req.io.room(room).broadcast("chat:message", message)
    req.io.respond({"delivered": True, "at": message["at"]})


async def typing(req: Any) -> None:
    nickname = nickname_of(req)
    data = req.data or {}
    room = clean_room(data.get("room"))
    if nickname is not None and room in req.socket.rooms:
        event = {"room": room, "nickname": nickname, "typing": bool(data.get("typing"))}
        req.io.room(room).broadcast("chat:typing", event)


app.io.route("chat", {"say": say, "typing": typing})


@app.io.route("announce")
async def announce(req: Any) -> None:
    """From a socket (the page's announcement box) or forwarded from ``POST /api/announce``."""
    data = req.data if isinstance(req.data, dict) else {}
    text = clean_text(data.get("text"))
    if not text:
        req.io.respond({"error": "An announcement needs some text"})
        return
    sender = nickname_of(req) or "the server"
    app.io.broadcast("announcement", {"from": sender, "text": text, "at": int(time.time() * 1000)})
    req.io.respond({"announced": True})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7076)
    parser.add_argument("--host", default="127.0.0.1")
    arguments = parser.parse_args()
    host, port = arguments.host, arguments.port
    ipv6 = ":" in host
    # Bound here rather than by the server, so that a port in use gets a plain message, and
    # the address is printed once it listens; the server then serves this socket (uvicorn's
    # ``fd`` option).
    try:
        family = socket.AF_INET6 if ipv6 else socket.AF_INET
        listening = socket.create_server((host, port), family=family)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            sys.exit(f"expressio chat: port {port} is in use; pass --port N to use another one")
        sys.exit(f"expressio chat: cannot listen on {host} port {port}: {error.strerror}")
    address = f"[{host}]:{port}" if ipv6 else f"{host}:{port}"
    print(
        f"expressio chat: open http://{address}/ in two browser tabs (Ctrl+C stops it)",
        flush=True,
    )
    # log_level="warning" quiets the server's own start-up lines; the app's request lines stay.
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C stops it, without a traceback
        app.listen(port, host, fd=listening.fileno(), log_level="warning")


if __name__ == "__main__":
    main()
