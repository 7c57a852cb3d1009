"""GET /hello on a bare Starlette app, served by uvicorn (uvloop, httptools) — the baseline.

With ``--sessions`` it also has Starlette's own ``SessionMiddleware`` (the session lives in a
signed cookie, nothing on the server) and the soak benchmark's routes: ``GET /anon`` (never
touches the session) and ``GET /login`` (stores a value in it).
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route


async def hello(request: Request) -> HTMLResponse:
    return HTMLResponse("Hello World")


async def anonymous(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def login(request: Request) -> PlainTextResponse:
    request.session["user"] = "someone"
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/hello", hello)])
app_with_sessions = Starlette(
    routes=[Route("/hello", hello), Route("/anon", anonymous), Route("/login", login)],
    middleware=[Middleware(SessionMiddleware, secret_key="bench")],
)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sessions", action="store_true")
    options = parser.parse_args()
    port = options.port
    uvicorn.run(
        app_with_sessions if options.sessions else app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
