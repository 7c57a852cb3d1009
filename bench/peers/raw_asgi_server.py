"""Raw ASGI websocket peer: the ceiling reference for the ASGI transport on uvicorn.

Speaks just enough Engine.IO v4 / Socket.IO v5 framing for the benchmark over websocket only:
the open packet, namespace CONNECT to "/", EVENT with or without an ack id, ACK. No heartbeats
(a benchmark run ends long before a client would miss one), no polling, no binary, no
validation. Whatever a real Socket.IO server does beyond this is the price of a real server.

Run: python raw_asgi_server.py --port N

Events (the same on every peer):
  ack     -> acknowledge with the same arguments
  join    -> join room "bench" (acknowledged, so the client knows the join is done)
  fanout  -> {"n": k}: broadcast "tick" to room "bench" k times, each with its index
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import uvicorn

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]

OPEN_TEMPLATE = (
    '0{"sid":"%s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
)
session_numbers = itertools.count(1)
bench_room: dict[int, Send] = {}


async def broadcast_ticks(count: int) -> None:
    # Snapshot the room: a member may leave while a send is awaited.
    members = list(bench_room.values())
    for index in range(count):
        frame = {"type": "websocket.send", "text": f'42["tick",{index}]'}
        for send in members:
            await send(frame)


async def handle_event(number: int, text: str, send: Send) -> None:
    # "42" [ack id digits] JSON-array
    body_start = 2
    while body_start < len(text) and text[body_start].isdigit():
        body_start += 1
    ack_id = text[2:body_start]
    event, *args = orjson.loads(text[body_start:])
    if event == "ack":
        await send({"type": "websocket.send", "text": "43" + ack_id + orjson.dumps(args).decode()})
    elif event == "join":
        bench_room[number] = send
        if ack_id:
            await send({"type": "websocket.send", "text": "43" + ack_id + "[]"})
    elif event == "fanout":
        await broadcast_ticks(int(args[0]["n"]))


async def app(scope: Message, receive: Receive, send: Send) -> None:
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    number = next(session_numbers)
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": OPEN_TEMPLATE % f"e{number}"})
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if not text:
                continue
            if text.startswith("42"):
                await handle_event(number, text, send)
            elif text.startswith("40"):
                await send({"type": "websocket.send", "text": f'40{{"sid":"s{number}"}}'})
            elif text.startswith("41"):
                await send({"type": "websocket.close", "code": 1000})
                return
    finally:
        bench_room.pop(number, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ws", default="auto", help="uvicorn websocket implementation")
    options = parser.parse_args()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=options.port,
        loop="uvloop",
        http="httptools",
        ws=options.ws,
        lifespan="off",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
