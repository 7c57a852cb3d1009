"""The express.io README example in expressio: the ``ready`` → ``talk`` exchange.

Run it and open http://127.0.0.1:7076 (the browser client is served from an npm install of
``socket.io-client``; run ``npm install socket.io-client`` here or in a parent directory)::

    python examples/express_io_readme/app.py [--port 7076]
"""

import argparse
from pathlib import Path

import expressio

app = expressio.express()
app.http().io()


# Setup the ready route, and emit talk event.
@app.io.route("ready")
def ready(req):
    req.io.emit("talk", {"message": "io event from an io route on the server"})


# Send the client html.
@app.get("/")
def index(req, res):
    res.sendfile(Path(__file__).parent / "client.html")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7076)
    app.listen(parser.parse_args().port)
