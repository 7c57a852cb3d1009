"""A realtime server process of a test cluster, on the realtime layer with the Redis adapter.

    python tests/scaleout/cluster_server.py --port N --redis URL [--channel C] [--lazy]
        [--parser json|msgpack]

Served by uvicorn on 127.0.0.1:N at /socket.io/. Namespaces "/" and "/chat" both answer:

- "whoami" → ack {"sid", "pid", "namespace"};
- "join" room / "leave" room → ack true once done (local sockets);
- "broadcast" {"event", "args", "to": room or null, "skip_self": bool} → the namespace's
  broadcast, ack true;
- "remote-join" / "remote-leave" {"sid", "room"}, "remote-disconnect" {"sid"} → the adapter's
  add_sockets / del_sockets / disconnect_sockets on the room of that socket id (a socket on
  any process), ack true;
- "echo" → ack with its own arguments (acks stay local);
- "stats" → ack with the adapter link's counters once everything queued is published.

The adapter connects at startup (lifespan) unless --lazy, where it connects on first use.
Logs go to stderr at INFO level (the tests read the outage and malformed-message lines).
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

import uvicorn

from expressio.realtime import BroadcastOptions, Namespace, RealtimeServer, Socket
from expressio.scaleout import RedisAdapter, RedisNamespaceAdapter


def setup_namespace(namespace: Namespace) -> None:
    adapter = namespace.adapter
    assert isinstance(adapter, RedisNamespaceAdapter)

    def whoami(socket: Socket) -> dict[str, Any]:
        return {"sid": socket.id, "pid": os.getpid(), "namespace": namespace.name}

    def join(socket: Socket, room: str) -> bool:
        socket.join(room)
        return True

    def leave(socket: Socket, room: str) -> bool:
        socket.leave(room)
        return True

    def broadcast(socket: Socket, spec: dict[str, Any]) -> bool:
        namespace.emit(
            spec["event"],
            *spec.get("args", ()),
            to=spec.get("to"),
            skip=socket.id if spec.get("skip_self") else None,
        )
        return True

    def only(sid: str) -> BroadcastOptions:
        return BroadcastOptions(frozenset((sid,)))

    def remote_join(socket: Socket, spec: dict[str, str]) -> bool:
        adapter.add_sockets(only(spec["sid"]), (spec["room"],))
        return True

    def remote_leave(socket: Socket, spec: dict[str, str]) -> bool:
        adapter.del_sockets(only(spec["sid"]), (spec["room"],))
        return True

    def remote_disconnect(socket: Socket, spec: dict[str, str]) -> bool:
        adapter.disconnect_sockets(only(spec["sid"]), False)
        return True

    def echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
        return args

    async def stats(socket: Socket) -> dict[str, Any]:
        link = adapter.factory.link
        await link.flush()
        return {
            "up": link.up,
            "published": link.published,
            "dropped": link.dropped,
            "received": link.received,
        }

    for event, handler in {
        "whoami": whoami,
        "join": join,
        "leave": leave,
        "broadcast": broadcast,
        "remote-join": remote_join,
        "remote-leave": remote_leave,
        "remote-disconnect": remote_disconnect,
        "echo": echo,
        "stats": stats,
    }.items():
        namespace.on(event, handler)


def build_app(redis_url: str, channel: str, lazy: bool, parser: str = "json") -> Any:
    adapter = RedisAdapter(redis_url, channel=channel)
    server = RealtimeServer(adapter_factory=adapter, parser=parser)
    setup_namespace(server.of("/"))
    setup_namespace(server.of("/chat"))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if not lazy:
                        await adapter.start()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await server.shutdown()
                    await adapter.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["path"].startswith("/socket.io/"):
            await server(scope, receive, send)
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"Not Found"})
        else:
            await send({"type": "websocket.close", "code": 1008})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--channel", default="expressio")
    parser.add_argument("--lazy", action="store_true")
    parser.add_argument("--parser", default="json", choices=("json", "msgpack"))
    options = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        build_app(options.redis, options.channel, options.lazy, options.parser),
        host="127.0.0.1",
        port=options.port,
        lifespan="on",
        log_level="warning",
    )


if __name__ == "__main__":
    main()
