"""Small client-side helpers for the engine's end-to-end tests."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

RECEIVE_TIMEOUT = 5.0


async def open_websocket(url: str, **options: Any) -> tuple[ClientConnection, dict[str, Any]]:
    """Connect a websocket-only session and read its open packet."""
    websocket = await connect(url, **options)
    frame = await receive(websocket)
    assert isinstance(frame, str) and frame.startswith("0"), frame
    handshake: dict[str, Any] = orjson.loads(frame[1:])
    return websocket, handshake


async def receive(websocket: ClientConnection) -> str | bytes:
    return await asyncio.wait_for(websocket.recv(), RECEIVE_TIMEOUT)


async def receive_skipping_pings(websocket: ClientConnection) -> str | bytes:
    """The next frame that is not a ping (answering the pings, so the session stays up)."""
    while True:
        frame = await receive(websocket)
        if frame == "2":
            await websocket.send("3")
            continue
        return frame


async def wait_closed(websocket: ClientConnection) -> list[str | bytes]:
    """Read until the server closes the websocket; returns the frames that came first."""
    frames: list[str | bytes] = []
    try:
        while True:
            frames.append(await receive(websocket))
    except ConnectionClosed:
        return frames
