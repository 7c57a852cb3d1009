"""GET /hello on expressio, served by uvicorn (uvloop, httptools) — a benchmark peer."""

from __future__ import annotations

import argparse

import uvicorn

import expressio

app = expressio.express()


@app.get("/hello")
async def hello(req: expressio.Request, res: expressio.Response) -> None:
    res.send("Hello World")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
