// Messages of @socket.io/redis-adapter and @socket.io/redis-emitter as Node encodes them
// (notepack.io, the adapters' msgpack encoder): one JSON line, name -> hex.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const notepack = require("notepack.io");

const hex = (value) => Buffer.from(notepack.encode(value)).toString("hex");

const vectors = {
  // what an adapter publishes for io.to("room").except("sid").emit("news", ...)
  broadcast: [
    "abc123",
    { type: 2, data: ["news", { n: 1, big: 4294967296, neg: -129, f: 1.5 }, Buffer.from([0, 1, 255])], nsp: "/" },
    { rooms: ["room"], except: ["sid"], flags: {} },
  ],
  // what the emitter publishes for emitter.of("/chat").volatile.emit("tick", 7)
  emitter_broadcast: [
    "emitter",
    { type: 2, data: ["tick", 7], nsp: "/chat" },
    { rooms: [], flags: { volatile: true }, except: [] },
  ],
  // io.timeout(1000).emit("ask", "?", cb): a broadcast with acks
  broadcast_request: {
    uid: "abc123",
    requestId: "r1",
    type: 7,
    packet: { type: 2, data: ["ask", "?"], nsp: "/" },
    opts: { rooms: [], except: [], flags: { timeout: 1000 } },
  },
  // a client's ack forwarded to the requester
  client_ack: { type: 9, requestId: "r1", packet: { ok: true, bin: Buffer.from("hi") } },
  // JavaScript values without a msgpack type
  undefined_value: [undefined, null],
  date: new Date(Date.UTC(2024, 4, 1, 12, 0, 0, 7)),
  array_buffer: new Uint8Array([1, 2, 3]).buffer,
  long_string: "é".repeat(40),
  long_array: Array.from({ length: 20 }, (_, i) => i),
};

const out = {};
for (const [name, value] of Object.entries(vectors)) out[name] = hex(value);
console.log(JSON.stringify(out));
