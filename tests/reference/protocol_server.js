// Reference implementation of the protocol test server, on the official Node packages.
//
//   node tests/reference/protocol_server.js --port N
//
// It serves exactly what examples/protocol_server.py serves, so the conformance tests can be
// checked against the implementation that defines the protocol:
//   /socket.io/  Socket.IO v5, namespaces "/" and "/custom"; on connect emits "auth" with the
//                client's auth payload; on "/", "message" -> "message-back" with the same
//                arguments and "message-with-ack" -> ack with the same arguments.
//   /engine.io/  raw Engine.IO v4 that echoes every message (text as text, binary as binary).
// Both use pingInterval 300 ms, pingTimeout 200 ms and maxPayload 1,000,000 bytes, and allow
// cross-origin long-polling from any origin, with credentials.
"use strict";

const http = require("node:http");
const path = require("node:path");

// Resolve the packages from the project's node_modules whatever the working directory.
const nodeModules = path.resolve(__dirname, "..", "..", "node_modules");
const { Server } = require(path.join(nodeModules, "socket.io"));
const engine = require(path.join(nodeModules, "engine.io"));

function parsePort(argv) {
  const index = argv.indexOf("--port");
  const port = index >= 0 ? Number(argv[index + 1]) : NaN;
  if (!Number.isInteger(port) || port <= 0) {
    console.error("usage: node protocol_server.js --port N");
    process.exit(2);
  }
  return port;
}

const timings = { pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 1e6 };
// Any origin, with credentials: browsers' long-polling from another origin must work.
const cors = { origin: true, credentials: true };
const httpServer = http.createServer();

const io = new Server(httpServer, { ...timings, cors, serveClient: false, path: "/socket.io/" });

function greetWithAuth(socket) {
  socket.emit("auth", socket.handshake.auth);
}

io.of("/").on("connection", (socket) => {
  greetWithAuth(socket);
  socket.on("message", (...args) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
});
io.of("/custom").on("connection", greetWithAuth);

const rawEngine = engine.attach(httpServer, { ...timings, cors, path: "/engine.io/" });
rawEngine.on("connection", (socket) => {
  socket.on("message", (data) => socket.send(data));
});

httpServer.listen(parsePort(process.argv), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
