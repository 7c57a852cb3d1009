// A Node socket.io 4.8 server of a mixed cluster: express + socket.io + @socket.io/redis-adapter
// (classic pub/sub, node-redis clients). Its events mirror expressio_server.py's, so that a test
// drives either language's process the same way.
//
//     node node_server.mjs --port N --redis URL --key socket.io [--requests-timeout MS]
//         [--parser json|msgpack]
//
// Events (namespace "/", each acks its result):
//   whoami                          {sid, pid, lang: "node"}
//   join room / leave room          true
//   set-data {...}                  true (socket.data)
//   broadcast {event, args, to, except, skip_self, volatile}       true
//   room-broadcast {room, event, args}  true: socket.to(room).emit, the sender excluded
//   echo value                      value
//   ask {event, args, to, timeout}  {answers} or {error, answers} (io.timeout(t).emitWithAck)
//   fetch {to, except}              [{id, rooms, data, auth, address, remote}]
//   fetch-act {to, only, action, arg}   true: emit/join/leave/disconnect on fetched sockets
//   sockets-join {to, room} / sockets-leave {to, room} / sockets-disconnect {to}      true
//   server-emit {event, args}       true (io.serverSideEmit)
//   server-emit-ack {event, args}   {answers} or {error, answers} (serverSideEmitWithAck)
//   server-notes                    the server-side events this process received
//   server-count                    io.serverCount()
// Server-side events: "hello-servers" answers {lang: "node", pid, got}; every one is noted.
import http from "node:http";
import { createRequire } from "node:module";
import process from "node:process";

const require = createRequire(import.meta.url);
const express = require("express");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const port = Number(option("port"));
const redisUrl = option("redis");
const key = option("key", "socket.io");
const requestsTimeout = Number(option("requests-timeout", "5000"));
// socket.io-msgpack-parser for its clients (the Redis messages between processes are msgpack
// either way)
const parser = option("parser", "json") === "msgpack" ? require("socket.io-msgpack-parser") : undefined;

const pubClient = createClient({ url: redisUrl });
const subClient = pubClient.duplicate();
// node-redis reconnects by itself; without an error listener an outage would end the process
pubClient.on("error", (error) => console.error("redis pub:", error.message));
subClient.on("error", (error) => console.error("redis sub:", error.message));
await Promise.all([pubClient.connect(), subClient.connect()]);

const app = express();
app.get("/pid", (req, res) => res.json({ pid: process.pid }));
const server = http.createServer(app);
const io = new Server(server, {
  adapter: createAdapter(pubClient, subClient, { key, requestsTimeout }),
  ...(parser ? { parser } : {}),
});
const main = io.of("/");

const notes = [];
main.on("hello-servers", (...args) => {
  const callback = typeof args[args.length - 1] === "function" ? args.pop() : null;
  notes.push(["hello-servers", ...args]);
  if (callback) callback({ lang: "node", pid: process.pid, got: args[0] ?? null });
});
main.on("note", (...args) => notes.push(["note", ...args]));

function target(spec) {
  let operator = io.of("/");
  if (spec.to) operator = operator.to(spec.to);
  if (spec.except) operator = operator.except(spec.except);
  return operator;
}

const describe = (socket) => ({
  id: socket.id,
  rooms: [...socket.rooms].sort(),
  data: socket.data ?? null,
  auth: socket.handshake.auth,
  address: socket.handshake.address,
  issued: socket.handshake.issued,
  remote: socket.constructor.name === "RemoteSocket",
});

io.on("connection", (socket) => {
  socket.on("whoami", (callback) => callback({ sid: socket.id, pid: process.pid, lang: "node" }));
  socket.on("join", (room, callback) => {
    socket.join(room);
    callback(true);
  });
  socket.on("leave", (room, callback) => {
    socket.leave(room);
    callback(true);
  });
  socket.on("set-data", (data, callback) => {
    socket.data = data;
    callback(true);
  });
  socket.on("broadcast", (spec, callback) => {
    let operator = spec.skip_self ? socket.broadcast : io.of("/");
    if (spec.to) operator = operator.to(spec.to);
    if (spec.except) operator = operator.except(spec.except);
    if (spec.volatile) operator = operator.volatile;
    operator.emit(spec.event, ...(spec.args ?? []));
    callback(true);
  });
  socket.on("room-broadcast", (spec, callback) => {
    socket.to(spec.room).emit(spec.event, ...(spec.args ?? []));
    callback(true);
  });
  socket.on("echo", (value, callback) => callback(value));
  socket.on("ask", async (spec, callback) => {
    try {
      const answers = await target(spec).timeout(spec.timeout).emitWithAck(spec.event, ...(spec.args ?? []));
      callback({ answers });
    } catch (error) {
      callback({ error: error.message, answers: error.responses ?? [] });
    }
  });
  socket.on("fetch", async (spec, callback) => {
    const sockets = await target(spec).fetchSockets();
    callback(sockets.map(describe));
  });
  socket.on("fetch-act", async (spec, callback) => {
    for (const found of await target(spec).fetchSockets()) {
      if (spec.only && found.id !== spec.only) continue;
      if (spec.action === "emit") found.emit(spec.arg.event, ...spec.arg.args);
      else if (spec.action === "join") found.join(spec.arg);
      else if (spec.action === "leave") found.leave(spec.arg);
      else if (spec.action === "disconnect") found.disconnect();
    }
    callback(true);
  });
  socket.on("sockets-join", (spec, callback) => {
    target(spec).socketsJoin(spec.room);
    callback(true);
  });
  socket.on("sockets-leave", (spec, callback) => {
    target(spec).socketsLeave(spec.room);
    callback(true);
  });
  socket.on("sockets-disconnect", (spec, callback) => {
    target(spec).disconnectSockets(spec.close ?? false);
    callback(true);
  });
  socket.on("server-emit", (spec, callback) => {
    io.serverSideEmit(spec.event, ...(spec.args ?? []));
    callback(true);
  });
  socket.on("server-emit-ack", async (spec, callback) => {
    try {
      const answers = await io.serverSideEmitWithAck(spec.event, ...(spec.args ?? []));
      callback({ answers });
    } catch (error) {
      callback({ error: error.message, answers: error.responses ?? [] });
    }
  });
  socket.on("server-notes", (callback) => callback(notes));
  socket.on("server-count", async (callback) => callback(await io.of("/").adapter.serverCount()));
});

io.of("/chat").on("connection", (socket) => {
  socket.on("whoami", (callback) => callback({ sid: socket.id }));
});

server.listen(port, "127.0.0.1", () => console.log(`listening on ${port} (key ${key})`));
