"""The Python half of one cluster: expressio with RedisAdapter(channel="socket.io").

    REDIS_URL=redis://127.0.0.1:6379 PORT=7076 python app.py
"""

import os

import expressio

REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")

app = expressio.express()
app.http().io(adapter=expressio.RedisAdapter(REDIS, channel="socket.io"))


@app.io.route("enter")
def enter(req):
    req.io.join("lobby")
    req.io.respond("in")


@app.io.route("say")
def say(req):
    # reaches "lobby" on every process of the cluster, Node's included
    app.io.room("lobby").broadcast("said", {"text": req.data, "from": "python"})


@app.io.route("processes")
async def processes(req):
    # every OTHER process answers: the Node ones with their io.on("whoami") handler
    req.io.respond(await app.io.server_side_emit_with_ack("whoami"))


@app.io.server_side_route("whoami")
def whoami():
    return f"python {os.getpid()}"


if __name__ == "__main__":
    app.listen(int(os.environ.get("PORT", "7076")))
