"""What the test apps of the scale-out suite do with ``fetch_sockets()``, whichever adapter they
use: describe the fetched clients, and act on them (:func:`add_fetch_routes`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def describe(client: Any) -> dict[str, Any]:
    """One fetched client as the tests read it (the Node servers answer the same keys)."""
    return {
        "id": client.id,
        "rooms": sorted(client.rooms),
        "data": dict(client.data),
        "auth": dict(client.handshake.auth),
        "address": client.handshake.address,
        "issued": client.handshake.issued,
        "remote": client.remote,
    }


def act(clients: Any, spec: dict[str, Any]) -> None:
    """``spec["action"]`` (emit, join, leave, disconnect) with ``spec.get("arg")`` on each
    fetched client, or on the one whose id is ``spec["only"]`` when given. An emit's ``arg`` is
    ``{"event", "args"}``, its first argument sent."""
    for client in clients:
        if spec.get("only") and client.id != spec["only"]:
            continue
        action, arg = spec["action"], spec.get("arg")
        if action == "emit":
            client.emit(arg["event"], *arg["args"][:1])
        elif action == "join":
            client.join(arg)
        elif action == "leave":
            client.leave(arg)
        elif action == "disconnect":
            client.disconnect()


def add_fetch_routes(app: Any, target: Callable[[dict[str, Any]], Any]) -> None:
    """The routes "set-data" (``req.socket.data`` becomes the payload), "fetch" {to, except}
    (the fetched clients, described) and "fetch-act" {to, only, action, arg} (:func:`act`);
    ``target(spec)`` is whom a spec's ``to``/``except`` select."""

    @app.io.route("set-data")
    def set_data(req: Any) -> None:
        req.socket.data.clear()
        req.socket.data.update(req.data)
        req.io.respond(True)

    @app.io.route("fetch")
    async def fetch(req: Any) -> None:
        found = await target(req.data or {}).fetch_sockets()
        req.io.respond([describe(client) for client in found])

    @app.io.route("fetch-act")
    async def fetch_act(req: Any) -> None:
        act(await target(req.data).fetch_sockets(), req.data)
        req.io.respond(True)
