// Node socket.io 4 peer for the realtime benchmark (websocket transport only).
//
// Run: node node_server.js --port N [--transports websocket,polling] [--middleware]
//
// Events (the same on every peer):
//   ack     -> acknowledge with the same arguments
//   join    -> join room "bench" (acknowledged, so the client knows the join is done)
//   fanout  -> {"n": k}: broadcast "tick" to room "bench" k times, each with its index
//   fanout_ack -> {"n": k}: the same with acks (emitWithAck), answering how many acked the last
//   blast   -> {"n": k, "size": s}: broadcast "big" with a payload of s characters to room
//              "bench" k times (acknowledged once done)
//   stats   -> acknowledged with {engine_sessions: open Engine.IO sessions, sockets: connected
//              clients of the default namespace}
//
// --middleware adds an io.use() handshake middleware that reads the handshake and accepts.
"use strict";

const http = require("http");
const path = require("path");
const { Server } = require(path.join(__dirname, "..", "..", "node_modules", "socket.io"));

const ROOM = "bench";

function option(argv, name, fallback) {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : fallback;
}

function parsePort(argv) {
  const at = argv.indexOf("--port");
  const port = at >= 0 ? Number(argv[at + 1]) : NaN;
  if (!Number.isInteger(port) || port <= 0) {
    console.error("usage: node node_server.js --port N");
    process.exit(2);
  }
  return port;
}

const httpServer = http.createServer();
const transports = option(process.argv, "--transports", "websocket").split(",");
const io = new Server(httpServer, { transports, serveClient: false });
const payloads = new Map();

if (process.argv.includes("--middleware")) {
  io.use((socket, next) => {
    if (socket.handshake.address) next();
    else next(new Error("no address"));
  });
}

io.on("connection", (socket) => {
  socket.on("ack", (...args) => {
    const callback = args.pop();
    if (typeof callback === "function") callback(...args);
  });
  socket.on("join", (...args) => {
    socket.join(ROOM);
    const callback = args.pop();
    if (typeof callback === "function") callback();
  });
  socket.on("fanout", (request) => {
    for (let index = 0; index < request.n; index++) io.to(ROOM).emit("tick", index);
  });
  socket.on("fanout_ack", async (request, callback) => {
    let answers = [];
    for (let index = 0; index < request.n; index++) {
      answers = await io.to(ROOM).timeout(10000).emitWithAck("tick", index);
    }
    callback(answers.length);
  });
  socket.on("blast", (request, callback) => {
    if (!payloads.has(request.size)) payloads.set(request.size, "x".repeat(request.size));
    const pad = payloads.get(request.size);
    for (let index = 0; index < request.n; index++) io.to(ROOM).emit("big", { i: index, pad });
    if (typeof callback === "function") callback();
  });
  socket.on("stats", (callback) => {
    if (typeof callback !== "function") return;
    callback({ engine_sessions: io.engine.clientsCount, sockets: io.of("/").sockets.size });
  });
});

httpServer.listen(parsePort(process.argv), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
