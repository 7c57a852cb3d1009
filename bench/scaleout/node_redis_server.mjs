// Node socket.io 4 peer for the scale-out benchmark, with one of socket.io's Redis adapters.
//
//   node bench/scaleout/node_redis_server.mjs --port N --redis URL [--adapter pubsub|streams]
//        [--key socket.io]
//
// pubsub:  @socket.io/redis-adapter, createAdapter(pub, sub, {key}) on node-redis 4 clients.
// streams: @socket.io/redis-streams-adapter, createAdapter(client, {streamName: key}).
// Events (those of every scale-out peer, see fanout.mjs): "join" (acked) joins room "bench";
// "fanout" {"n": k} broadcasts "tick" k times to room "bench", each with its index.
//
// The port opens only once the adapter listens to Redis (subscribed, or blocked reading the
// stream): both adapters start listening in the background, and a broadcast published before
// then would never reach this process. The runner takes an open port as "ready".
import http from "node:http";
import { createClient } from "redis";
import { Server } from "socket.io";
import { createAdapter as createPubSubAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";

const ROOM = "bench";
const DEFAULTS = { port: "", redis: "", adapter: "pubsub", key: "socket.io" };
const options = { ...DEFAULTS };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, "");
  if (!(name in DEFAULTS) || process.argv[i + 1] === undefined) {
    console.error(`bad option ${process.argv[i]}`);
    process.exit(2);
  }
  options[name] = process.argv[i + 1];
}
const port = Number(options.port);
if (!Number.isInteger(port) || port <= 0 || !options.redis || !["pubsub", "streams"].includes(options.adapter)) {
  console.error("usage: node node_redis_server.mjs --port N --redis URL [--adapter pubsub|streams]");
  process.exit(2);
}

// Every connection this process opens carries this name (node-redis sends CLIENT SETNAME and
// duplicate() keeps it), so that CLIENT LIST tells when this process's adapter listens.
const clientName = `scaleout-node-${process.pid}`;
const publisher = createClient({ url: options.redis, name: clientName });
publisher.on("error", (error) => console.error(`redis: ${error.message}`));
await publisher.connect();

const io = new Server(http.createServer(), { transports: ["websocket"], serveClient: false });
if (options.adapter === "pubsub") {
  const subscriber = publisher.duplicate();
  subscriber.on("error", (error) => console.error(`redis: ${error.message}`));
  await subscriber.connect();
  io.adapter(createPubSubAdapter(publisher, subscriber, { key: options.key }));
} else {
  io.adapter(createStreamsAdapter(publisher, { streamName: options.key, channelPrefix: options.key }));
}

io.on("connection", (socket) => {
  socket.on("join", (...args) => {
    socket.join(ROOM);
    const callback = args.pop();
    if (typeof callback === "function") callback();
  });
  socket.on("fanout", (request) => {
    for (let index = 0; index < request.n; index++) io.to(ROOM).emit("tick", index);
  });
});

// One line of CLIENT LIST per connection: "id=.. name=.. sub=1 psub=1 .. cmd=xread ..".
function listening(clientList) {
  const ours = clientList
    .split("\n")
    .filter((line) => line.includes(` name=${clientName} `))
    .map((line) => Object.fromEntries(line.trim().split(" ").map((field) => field.split("="))));
  if (options.adapter === "pubsub") return ours.some((client) => Number(client.psub) > 0);
  return ours.some((client) => client.cmd === "xread") && ours.some((client) => Number(client.sub) > 0);
}

const deadline = Date.now() + 20000;
while (!listening(await publisher.sendCommand(["CLIENT", "LIST"]))) {
  if (Date.now() > deadline) {
    console.error(`the ${options.adapter} adapter did not start listening to Redis within 20 s`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
io.httpServer.listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
