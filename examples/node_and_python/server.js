// The Node half of one cluster: socket.io 4 with @socket.io/redis-adapter, key "socket.io".
//
//     REDIS_URL=redis://127.0.0.1:6379 PORT=3000 node server.js
const http = require("node:http");
const express = require("express");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

async function main() {
  const pubClient = createClient({ url: process.env.REDIS_URL || "redis://127.0.0.1:6379" });
  const subClient = pubClient.duplicate();
  pubClient.on("error", (error) => console.error(error.message));
  subClient.on("error", (error) => console.error(error.message));
  await Promise.all([pubClient.connect(), subClient.connect()]);

  const app = express();
  const server = http.createServer(app);
  const io = new Server(server, { adapter: createAdapter(pubClient, subClient, { key: "socket.io" }) });

  io.on("connection", (socket) => {
    socket.on("enter", (callback) => {
      socket.join("lobby");
      callback("in");
    });
    socket.on("say", (text) => io.to("lobby").emit("said", { text, from: "node" }));
  });
  // what the Python processes ask every process with server_side_emit_with_ack
  io.of("/").on("whoami", (callback) => callback("node " + process.pid));

  server.listen(Number(process.env.PORT || 3000), "127.0.0.1");
}

main();
