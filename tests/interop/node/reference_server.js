// The interop server of tests/interop/interop_server.py, on the official Node `socket.io`.
//
//   node tests/interop/node/reference_server.js --port N [--parser json|msgpack]
//
// It exists to validate the interop clients (Node and Python) against the implementation that
// defines the protocol; the interop tests choose it with EXPRESSIO_INTEROP_TARGET=node.
"use strict";

const http = require("node:http");
const path = require("node:path");

const nodeModules = path.resolve(__dirname, "..", "..", "..", "node_modules");
const { Server } = require(path.join(nodeModules, "socket.io"));

const index = process.argv.indexOf("--port");
const port = index >= 0 ? Number(process.argv[index + 1]) : NaN;
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node reference_server.js --port N");
  process.exit(2);
}

const parserIndex = process.argv.indexOf("--parser");
const parserName = parserIndex >= 0 ? process.argv[parserIndex + 1] : "json";
const options = { serveClient: false, maxHttpBufferSize: 1e6 };
if (parserName === "msgpack") {
  options.parser = require(path.join(nodeModules, "socket.io-msgpack-parser"));
} else if (parserName !== "json") {
  console.error(`unknown parser ${parserName}`);
  process.exit(2);
}

const httpServer = http.createServer();
const io = new Server(httpServer, options);

io.of("/").on("connection", (socket) => {
  // Client -> server ack: the ack carries back exactly the event's arguments.
  socket.on("echo", (...args) => {
    const ack = args.pop();
    ack(...args);
  });
  socket.on("echo-event", (...args) => socket.emit("echo-event-back", ...args));
  // Server -> client ack, callback style, then await style; the answer is reported back.
  socket.on("ask-callback", (...args) => {
    socket.emit("server-asks", ...args, (...answer) => socket.emit("server-got-ack", ...answer));
  });
  socket.on("ask-await", async (...args) => {
    const answer = await socket.timeout(5000).emitWithAck("server-asks", ...args);
    socket.emit("server-got-ack", answer);
  });
  socket.on("send-binary", () => {
    socket.emit("binary", {
      text: "server bytes",
      buf: Buffer.from([0, 1, 2, 255]),
      nested: [{ deep: Buffer.from([16, 32]) }],
    });
  });
  // Rooms: join acks the room; "to-room" reaches the room minus the sender, then every socket
  // of the namespace gets "room-done", which tells a client nothing more is coming.
  socket.on("join", (room, ack) => {
    socket.join(room);
    ack(room);
  });
  socket.on("to-room", (room, payload) => {
    socket.to(room).emit("room-message", payload);
    io.of("/").emit("room-done", room);
  });
  // A namespace-level disconnect: the client must not reconnect.
  socket.on("disconnect-me", () => socket.disconnect());
  // Drop the whole transport, as a network failure would: the client must reconnect.
  socket.on("drop-me", () => socket.conn.close());
});

io.of("/admin").on("connection", (socket) => {
  socket.on("whoami", (ack) => ack({ namespace: socket.nsp.name }));
});

const privateNamespace = io.of("/private");
privateNamespace.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "letmein") {
    next();
  } else {
    next(new Error("not authorized"));
  }
});
privateNamespace.on("connection", (socket) => {
  socket.on("whoami", (ack) => ack({ namespace: socket.nsp.name }));
});

httpServer.listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
