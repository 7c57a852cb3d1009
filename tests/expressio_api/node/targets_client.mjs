// Drives the official socket.io-client 4.x against the targeting app of test_targets.py and
// prints one JSON line per scenario: {"step": name, ...observations} or {"step": name,
// "error": message}; last {"step": "done"}.
//
//   node targets_client.mjs --url http://127.0.0.1:N [--transports polling,websocket]
import { io } from "socket.io-client";

const STEP_TIMEOUT_MS = 5000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = option("--url");
const transports = option("--transports", "websocket").split(",");

function report(step, observations) {
  process.stdout.write(JSON.stringify({ step, ...observations }) + "\n");
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function open(options = {}) {
  const socket = io(url, {
    transports,
    forceNew: true,
    reconnection: false,
    timeout: STEP_TIMEOUT_MS,
    ...options,
  });
  const received = [];
  socket.onAny((event, ...args) => received.push([event, ...args]));
  socket.received = received;
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    }),
    "connect",
  );
  return socket;
}

function call(socket, event, ...args) {
  return withTimeout(
    new Promise((resolve) => socket.emit(event, ...args, (...answer) => resolve(answer[0]))),
    `ack of ${event}`,
  );
}

function answering(socket, answer) {
  socket.on("question", (data, ack) => ack(answer));
  return socket;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function disconnected(socket) {
  return withTimeout(new Promise((resolve) => socket.once("disconnect", resolve)), "disconnect");
}

function closeAll(...sockets) {
  for (const socket of sockets) socket.disconnect();
}

const scenarios = {
  async ack_with_a_silent_client() {
    // Rooms of their own: a client of another scenario still leaving is not asked.
    const one = answering(await open(), "one");
    const two = answering(await open(), { n: 2 });
    const silent = await open(); // no "question" listener: it never acks
    for (const socket of [one, two, silent]) await call(socket, "join", ["ack-silent"]);
    const asker = await open();
    const spec = { rooms: ["ack-silent"], q: "?", timeout: 1.0 };
    const result = await call(asker, "ask", spec);
    const silentGot = silent.received.filter((entry) => entry[0] === "question").length;
    closeAll(one, two, silent, asker);
    return { ...result, silentGot };
  },

  async ack_from_everyone() {
    const one = answering(await open(), "one");
    const two = answering(await open(), "two");
    for (const socket of [one, two]) await call(socket, "join", ["ack-all"]);
    const asker = await open();
    const result = await call(asker, "ask", { rooms: ["ack-all"], q: "?", timeout: 4.0 });
    closeAll(one, two, asker);
    return result;
  },

  async several_rooms_once() {
    const both = await open();
    const onlyA = await open();
    const outside = await open();
    await call(both, "join", ["node-a", "node-b"]);
    await call(onlyA, "join", ["node-a"]);
    const sender = await open();
    await call(sender, "select", { rooms: ["node-a", "node-b"], excluding: [], tag: "t" });
    await sleep(300);
    const count = (socket) => socket.received.filter((entry) => entry[0] === "selected").length;
    const result = { both: count(both), onlyA: count(onlyA), outside: count(outside) };
    closeAll(both, onlyA, outside, sender);
    return result;
  },

  async fetch_and_act() {
    const member = await open({ auth: { user: "node-user" } });
    const memberId = member.id; // the client forgets it once disconnected
    await call(member, "join", ["node-fetch"]);
    member.emit("set-data", { key: "k", value: "v" });
    const asker = await open();
    const views = await call(asker, "fetch", ["node-fetch"]);
    const direct = withTimeout(
      new Promise((resolve) => member.once("direct", resolve)),
      "direct",
    );
    await call(asker, "act-on-fetched", { room: "node-fetch", action: "emit" });
    const directId = await direct;
    const gone = disconnected(member);
    await call(asker, "act-on-fetched", { room: "node-fetch", action: "disconnect" });
    const reason = await gone;
    const result = { views, memberId, directId, reason };
    closeAll(asker);
    return result;
  },

  async room_operations() {
    const member = await open();
    await call(member, "join", ["node-ops"]);
    const admin = await open();
    await call(admin, "room-op", { room: "node-ops", op: "join", other: "node-ops2" });
    const joined = await call(member, "rooms");
    await call(admin, "room-op", { room: "node-ops", op: "leave", other: "node-ops2" });
    const left = await call(member, "rooms");
    const gone = disconnected(member);
    await call(admin, "room-op", { room: "node-ops", op: "disconnect" });
    const reason = await gone;
    closeAll(admin);
    return { joined, left, reason };
  },

  async socket_data() {
    const socket = await open();
    socket.emit("set-data", { key: "a", value: 1 });
    socket.emit("set-data", { key: "b", value: [2] });
    const data = await call(socket, "get-data");
    closeAll(socket);
    return { data };
  },

  async server_side() {
    const socket = await open();
    const answers = await call(socket, "server-side");
    closeAll(socket);
    return { answers };
  },
};

const failed = [];
for (const [name, scenario] of Object.entries(scenarios)) {
  try {
    report(name, await scenario());
  } catch (error) {
    failed.push(name);
    report(name, { error: String(error && error.stack ? error.stack : error) });
  }
}
report("done", { failed });
process.exit(failed.length ? 1 : 0);
