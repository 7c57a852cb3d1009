// A Node socket.io 4 server of a streams cluster: @socket.io/redis-streams-adapter on node-redis.
//
//   node tests/scaleout/streams/node_streams_server.js --port N --redis URL [--stream S] [--recovery]
//
// The same events as streams_app.py: "whoami", "join", "broadcast", "server-count",
// "ask-servers", "ask-clients", "rooms-join", "rooms-disconnect", "set-data", "ask", "fetch",
// "fetch-act" (and the server-side "ping").
// Prints {"ready": true} once listening.
const { createServer } = require("http");
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-streams-adapter");

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

async function main() {
  const port = Number(option("--port"));
  const redisClient = createClient({ url: option("--redis") });
  redisClient.on("error", () => {});
  await redisClient.connect();
  const options = { adapter: createAdapter(redisClient, { streamName: option("--stream", "expressio") }) };
  if (process.argv.includes("--recovery")) {
    options.connectionStateRecovery = { maxDisconnectionDuration: 30000, skipMiddlewares: true };
  }
  const httpServer = createServer();
  const io = new Server(httpServer, options);
  io.on("ping", (value, callback) => callback(`pong ${value} from node`));
  io.on("connection", (socket) => {
    socket.on("whoami", (callback) =>
      callback({
        sid: socket.id,
        pid: process.pid,
        recovered: socket.recovered,
        rooms: [...socket.rooms].sort(),
        server: "node",
      }),
    );
    socket.on("join", (room, callback) => {
      socket.join(room);
      callback(true);
    });
    socket.on("broadcast", (spec, callback) => {
      let target = spec.skip_self ? socket.broadcast : io;
      if (spec.to) target = target.to(spec.to);
      if (spec.volatile) target = target.volatile;
      target.emit(spec.event, spec.data);
      callback(true);
    });
    socket.on("ask-servers", async (value, callback) =>
      callback(await io.serverSideEmitWithAck("ping", value)),
    );
    socket.on("ask-clients", async (value, callback) =>
      callback(await io.timeout(5000).emitWithAck("question", value)),
    );
    socket.on("rooms-join", (spec, callback) => {
      io.in(spec.room).socketsJoin(spec.other);
      callback(true);
    });
    socket.on("rooms-disconnect", (room, callback) => {
      io.in(room).disconnectSockets();
      callback(true);
    });
    socket.on("set-data", (data, callback) => {
      socket.data = data;
      callback(true);
    });
    const target = (spec) => {
      let chosen = spec.to ? io.to(spec.to) : io.of("/");
      if (spec.except) chosen = chosen.except(spec.except);
      return chosen;
    };
    socket.on("ask", async (spec, callback) => {
      const answers = await target(spec).timeout(spec.timeout * 1000).emitWithAck(spec.event, spec.data);
      callback({ answers });
    });
    socket.on("fetch", async (spec, callback) => {
      const found = await target(spec || {}).fetchSockets();
      callback(
        found.map((client) => ({
          id: client.id,
          rooms: [...client.rooms].sort(),
          data: client.data ?? {},
          auth: client.handshake.auth,
          address: client.handshake.address,
          issued: client.handshake.issued,
          remote: client.constructor.name === "RemoteSocket",
        })),
      );
    });
    socket.on("fetch-act", async (spec, callback) => {
      for (const client of await target(spec).fetchSockets()) {
        if (spec.only && client.id !== spec.only) continue;
        if (spec.action === "emit") client.emit(spec.arg.event, ...spec.arg.args);
        else if (spec.action === "join") client.join(spec.arg);
        else if (spec.action === "leave") client.leave(spec.arg);
        else if (spec.action === "disconnect") client.disconnect();
      }
      callback(true);
    });
    socket.on("server-count", async (callback) => callback(await io.of("/").adapter.serverCount()));
  });
  httpServer.listen(port, "127.0.0.1", () => console.log(JSON.stringify({ ready: true })));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
