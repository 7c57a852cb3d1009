"""A small expressio app: an HTML page, a JSON API with a path parameter, and a form.

Run it with ``python examples/hello.py`` (or ``scripts/run.sh``) and open http://127.0.0.1:7076/.
"""

from __future__ import annotations

import argparse

import expressio

app = expressio.express()
app.http()
app.use(expressio.json())
app.use(expressio.urlencoded())

PAGE = """<!doctype html>
<title>expressio</title>
<h1>Hello from expressio</h1>
<p>Try <a href="/hello">/hello</a>, <a href="/users/42">/users/42</a>
or post a greeting:</p>
<form method="post" action="/greet"><input name="name" placeholder="your name">
<button>Greet</button></form>
"""


@app.get("/")
def index(req, res):
    res.send(PAGE)


@app.get("/hello")
async def hello(req, res):
    res.send("Hello World")


@app.get("/users/:id")
async def user(req, res):
    return {"id": req.params["id"], "query": req.query}


@app.post("/greet")
async def greet(req, res):
    name = req.body.get("name") or "stranger"
    res.type("text").send(f"Hello, {name}!")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=7076)
    parser.add_argument("--host", default="127.0.0.1")
    arguments = parser.parse_args()
    app.listen(arguments.port, arguments.host)
