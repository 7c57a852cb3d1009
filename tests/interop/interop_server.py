"""The server the interop clients talk to, built on expressio's realtime layer.

    python tests/interop/interop_server.py --port N [--parser json|msgpack]

Served by uvicorn on 127.0.0.1:N at /socket.io/ (tests/interop/node/reference_server.js is the
same server on Node's socket.io, to validate the clients):

- "/": "echo" acks with its own arguments; "echo-event" answers "echo-event-back" with them;
  "ask-callback" / "ask-await" ask the client "server-asks" with an ack (a callback, or
  awaited) and report the client's answer as "server-got-ack"; "send-binary" sends bytes nested
  in an object; "join" joins a room (acked); "to-room" sends "room-message" to a room minus
  the sender, then "room-done" to everyone; "disconnect-me" disconnects the socket from the
  namespace; "drop-me" closes the client's transport, as a network failure would.
- "/admin": "whoami" acks {"namespace": "/admin"}.
- "/private": a middleware refuses ("not authorized") unless the auth payload carries
  {"token": "letmein"}; "whoami" as above.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from expressio.realtime import RealtimeServer, Socket

ACK_TIMEOUT = 5.0


def build_server(parser: str = "json") -> RealtimeServer:
    server = RealtimeServer(parser=parser)
    root = server.of("/")

    def echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
        return args  # a tuple answers the ack with several arguments

    def echo_event(socket: Socket, *args: Any) -> None:
        socket.emit("echo-event-back", *args)

    def ask_callback(socket: Socket, *args: Any) -> None:
        def got(*answer: Any) -> None:
            socket.emit("server-got-ack", *answer)

        socket.emit("server-asks", *args, callback=got)

    async def ask_await(socket: Socket, *args: Any) -> None:
        answer = await socket.emit_with_ack("server-asks", *args, timeout=ACK_TIMEOUT)
        socket.emit("server-got-ack", answer)

    def send_binary(socket: Socket) -> None:
        socket.emit(
            "binary",
            {
                "text": "server bytes",
                "buf": bytes([0, 1, 2, 255]),
                "nested": [{"deep": bytes([16, 32])}],
            },
        )

    def join(socket: Socket, room: str) -> str:
        socket.join(room)
        return room

    def to_room(socket: Socket, room: str, payload: Any) -> None:
        root.emit("room-message", payload, to=room, skip=socket.id)
        # Sent after the room message on every connection: a client that sees it knows that
        # nothing from the room is still on its way.
        root.emit("room-done", room)

    def disconnect_me(socket: Socket) -> None:
        socket.disconnect()

    def drop_me(socket: Socket) -> None:
        socket.engine_socket.close()

    root.on("echo", echo)
    root.on("echo-event", echo_event)
    root.on("ask-callback", ask_callback)
    root.on("ask-await", ask_await)
    root.on("send-binary", send_binary)
    root.on("join", join)
    root.on("to-room", to_room)
    root.on("disconnect-me", disconnect_me)
    root.on("drop-me", drop_me)

    def whoami(socket: Socket) -> dict[str, str]:
        return {"namespace": socket.namespace.name}

    server.of("/admin").on("whoami", whoami)

    def only_with_token(socket: Socket, auth: dict[str, Any]) -> None:
        if auth.get("token") != "letmein":
            raise ConnectionRefusedError("not authorized")

    private = server.of("/private")
    private.use(only_with_token)
    private.on("whoami", whoami)
    return server


def build_app(server: RealtimeServer) -> Any:
    """Mount the realtime server at /socket.io/; everything else is a 404."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith("/socket.io/"):
            await server(scope, receive, send)
        elif scope["type"] == "http":
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain")],
                }
            )
            await send({"type": "http.response.body", "body": b"Not Found"})
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parser", default="json", choices=("json", "msgpack"))
    arguments = parser.parse_args()
    port: int = arguments.port
    uvicorn.run(
        build_app(build_server(arguments.parser)),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
    )


if __name__ == "__main__":
    main()
