// Node socket.io 4 peer for the realtime benchmark (websocket transport only).
//
// Run: node node_server.js --port N
//
// Events (the same on every peer):
//   ack     -> acknowledge with the same arguments
//   join    -> join room "bench" (acknowledged, so the client knows the join is done)
//   fanout  -> {"n": k}: broadcast "tick" to room "bench" k times, each with its index
//   fanout_ack -> {"n": k}: the same with acks (emitWithAck), answering how many acked the last
"use strict";

const http = require("http");
const path = require("path");
const { Server } = require(path.join(__dirname, "..", "..", "node_modules", "socket.io"));

const ROOM = "bench";

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
const io = new Server(httpServer, { transports: ["websocket"], serveClient: false });

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
});

httpServer.listen(parsePort(process.argv), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
