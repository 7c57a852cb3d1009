// Official socket.io-client 4.x clients driven over stdin/stdout, for tests that need several
// of them on several server processes at once. One JSON object per line both ways.
//
//   node tests/scaleout/node_cluster/node_clients.mjs
//
// Commands (stdin), each with a numeric "id"; each is answered by {"id", "result"} or
// {"id", "error"}, in whatever order they complete:
//   {"op": "connect", "url", "transports": [...], "auth"?, "upgrade"?}
//       → {"client": n, "sid", "transport"}; with "upgrade" a client that may use websocket
//         first waits for its polling → websocket upgrade
//   {"op": "call", "client", "event", "args": [...], "timeout": ms}
//       → the server's ack (socket.timeout(ms).emitWithAck); an error such as
//         "operation has timed out" otherwise
//   {"op": "answer", "client", "event", "label"}
//       → true; from then on the client acks "event" with {"label", "got": [its args]}
//   {"op": "close", "client"} → true
// Unasked lines (stdout), in the order things happen:
//   {"client": n, "received": [event, ...args]}   every event the client receives
//   {"client": n, "disconnect": reason}           e.g. "io server disconnect"
// Binary travels as {"$binary": "<hex>"}, anywhere in arguments, both ways. The process exits
// when stdin closes.
import { createInterface } from "node:readline";
import process from "node:process";
import { io } from "socket.io-client";

const CONNECT_TIMEOUT_MS = 15000;
const clients = [];

const write = (record) => process.stdout.write(JSON.stringify(record) + "\n");

function toWire(value) {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return { $binary: Buffer.from(value).toString("hex") };
  }
  if (value instanceof ArrayBuffer) return { $binary: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toWire(item)]));
  }
  return value;
}

function fromWire(value) {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$binary") return Buffer.from(value.$binary, "hex");
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fromWire(item)]));
  }
  return value;
}

function once(emitter, event, failure, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what}: no ${event} within ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    emitter.once(event, (value) => {
      clearTimeout(timer);
      resolve(value);
    });
    if (failure) {
      emitter.once(failure, (error) => {
        clearTimeout(timer);
        reject(new Error(`${what}: ${error && error.message ? error.message : error}`));
      });
    }
  });
}

async function connect({ url, transports, auth, upgrade }) {
  const socket = io(url, {
    transports,
    auth,
    forceNew: true,
    reconnection: false,
    timeout: CONNECT_TIMEOUT_MS,
  });
  const client = clients.push(socket) - 1;
  // Recorded as they come; an ack function (the last argument when the server asks for one)
  // is the client's to answer, not data.
  socket.onAny((event, ...args) => {
    const data = args.filter((arg) => typeof arg !== "function");
    write({ client, received: [event, ...toWire(data)] });
  });
  socket.on("disconnect", (reason) => write({ client, disconnect: reason }));
  await once(socket, "connect", "connect_error", `connect to ${url}`);
  const engine = socket.io.engine;
  if (upgrade && transports.includes("websocket") && engine.transport.name !== "websocket") {
    await once(engine, "upgrade", "upgradeError", `upgrade on ${url}`);
  }
  return { client, sid: socket.id, transport: engine.transport.name };
}

const socketOf = (client) => {
  const socket = clients[client];
  if (!socket) throw new Error(`no client ${client}`);
  return socket;
};

const operations = {
  connect,
  async call({ client, event, args, timeout }) {
    const answer = await socketOf(client).timeout(timeout).emitWithAck(event, ...fromWire(args));
    return toWire(answer ?? null);
  },
  answer({ client, event, label }) {
    socketOf(client).on(event, (...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      if (ack) ack({ label, got: args });
    });
    return true;
  },
  close({ client }) {
    socketOf(client).close();
    return true;
  },
};

async function run(command) {
  try {
    const operation = operations[command.op];
    if (!operation) throw new Error(`unknown op ${JSON.stringify(command.op)}`);
    write({ id: command.id, result: await operation(command) });
  } catch (error) {
    write({ id: command.id, error: String(error && error.message ? error.message : error) });
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim()) run(JSON.parse(line));
});
lines.on("close", () => {
  for (const socket of clients) socket.close();
  process.exit(0);
});
