// Drives the official socket.io-client 4.x through connection state recovery scenarios.
//
//   node tests/recovery/node/recovery_client.mjs --url http://127.0.0.1:N --scenario NAME
//
// Prints one JSON line per observation {"step": name, ...}; the last is {"step": "done"} (or
// {"step": "failed", "error": ...} before it). Each client records the first argument of every
// "news" event it gets (the offset socket.io appends comes after it) and every "welcome".
import { io } from "socket.io-client";

const STEP_TIMEOUT_MS = 5000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = option("--url");
const scenario = option("--scenario");
const transports = option("--transports", "websocket").split(",");

function report(step, observations = {}) {
  process.stdout.write(JSON.stringify({ step, ...observations }) + "\n");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function until(what, check) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const clients = [];

function client(name, options = {}) {
  const socket = io(url, {
    transports,
    forceNew: true,
    reconnection: false,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    timeout: STEP_TIMEOUT_MS,
    auth: { name },
    ...options,
  });
  socket.news = [];
  socket.offsets = [];
  socket.welcomes = [];
  socket.disconnects = [];
  socket.on("news", (item, ...rest) => {
    socket.news.push(item);
    socket.offsets.push(rest.at(-1) ?? null);
  });
  socket.on("welcome", (info) => socket.welcomes.push(info));
  socket.on("disconnect", (reason) => socket.disconnects.push(reason));
  clients.push(socket);
  return socket;
}

function connected(socket) {
  if (socket.connected) return Promise.resolve();
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", (error) => reject(new Error(`refused: ${error.message}`)));
    }),
    "connect",
  );
}

function call(socket, event, data) {
  return socket.timeout(STEP_TIMEOUT_MS).emitWithAck(event, data);
}

async function welcomed(socket, count) {
  await until(`welcome #${count}`, () => socket.welcomes.length >= count);
  return socket.welcomes[count - 1];
}

async function newsCount(socket, count) {
  await until(`${count} news`, () => socket.news.length >= count);
}

// The transport goes away under the client, as when a network drops: "transport close".
async function dropTransport(socket, watcher) {
  const id = socket.id;
  const gone = withTimeout(new Promise((resolve) => socket.once("disconnect", resolve)), "disconnect");
  socket.io.engine.close();
  const reason = await gone;
  await until("the server to see it gone", async () => !(await call(watcher, "is_connected", id)));
  return reason;
}

async function reconnect(socket) {
  const before = socket.news.length;
  socket.connect();
  await connected(socket);
  return before;
}

function state(socket) {
  return { id: socket.id, recovered: socket.recovered };
}

const scenarios = {
  // Missed room broadcasts come back in order, once; excluded and other-room ones do not.
  async recover() {
    const a = client("a");
    const b = client("b");
    await Promise.all([connected(a), connected(b)]);
    report("first", { ...state(a), welcome: await welcomed(a, 1) });
    await call(a, "join", "r");
    await call(a, "remember", { favourite: 42 });
    await call(b, "shout", { room: "r", items: [1, 2] });
    await newsCount(a, 2);
    const aId = a.id; // the client forgets its id while disconnected
    await dropTransport(a, b);
    await call(b, "shout", { room: "r", items: [3, 4] });
    await call(b, "shout", { room: "elsewhere", items: ["not for a"] });
    await call(b, "shout", { room: "r", items: ["a excluded"], except: aId });
    await call(b, "shout", { room: null, items: [5] });
    await call(b, "shout", { room: "r", items: [6] });
    const before = await reconnect(a);
    const welcome = await welcomed(a, 2);
    await newsCount(a, before + 4);
    report("recovered", {
      ...state(a),
      welcome,
      missed: a.news.slice(before),
      offsets_distinct: new Set(a.offsets).size === a.offsets.length,
    });
    await call(b, "shout", { room: "r", items: [7] });
    await newsCount(a, before + 5);
    report("after", { rooms: await call(a, "rooms"), news: a.news, data: await call(a, "recall") });
  },

  // The client's own reconnection, as Node's tests do it: socket.io.engine.close().
  async auto_reconnect() {
    const a = client("auto", { reconnection: true });
    const b = client("b");
    await Promise.all([connected(a), connected(b)]);
    const first = state(a);
    await call(a, "join", "r");
    await call(b, "shout", { room: "r", items: ["before"] });
    await newsCount(a, 1);
    const back = withTimeout(new Promise((resolve) => a.io.once("reconnect", resolve)), "reconnect");
    a.io.engine.close();
    await back;
    await connected(a);
    await welcomed(a, 2);
    await newsCount(a, 3);
    report("recovered", { first, ...state(a), news: a.news, welcomes: a.welcomes });
  },

  // Reconnecting after the window: a fresh socket, no rooms.
  async window() {
    const a = client("a");
    const b = client("b");
    await Promise.all([connected(a), connected(b)]);
    const first = state(a);
    await call(a, "join", "r");
    await call(a, "remember", "gone with the session");
    await call(b, "shout", { room: "r", items: [1] });
    await newsCount(a, 1);
    await dropTransport(a, b);
    await sleep(Number(option("--away-ms", "1500")));
    await call(b, "shout", { room: "r", items: [2] });
    await reconnect(a);
    report("reconnected", {
      first,
      ...state(a),
      data: await call(a, "recall"),
      welcome: await welcomed(a, 2),
      rooms: await call(a, "rooms"),
      news: a.news,
    });
  },

  // Ids and offsets that are not the client's own get a fresh socket, never someone's state.
  async forged() {
    const a = client("a");
    const b = client("b");
    await Promise.all([connected(a), connected(b)]);
    const first = state(a);
    await call(a, "join", "secret");
    await call(b, "shout", { room: "secret", items: [1] });
    await newsCount(a, 1);
    const offset = a.offsets[0];
    const pid = a._pid;
    await dropTransport(a, b);
    await call(b, "shout", { room: "secret", items: [2] });
    const attempts = {
      public_id: { pid: first.id, offset },
      unknown_pid: { pid: "no-such-pid", offset },
      not_strings: { pid: 12, offset: ["x"] },
      too_long: { pid: "p".repeat(5000), offset },
    };
    const forged = {};
    for (const [label, auth] of Object.entries(attempts)) {
      const c = client("c", { auth: { name: "c", ...auth } });
      await connected(c);
      forged[label] = { ...state(c), rooms: await call(c, "rooms"), news: c.news };
      c.disconnect();
    }
    report("forged", { first, forged });
    const before = await reconnect(a);
    await newsCount(a, before + 1);
    report("owner", { ...state(a), missed: a.news.slice(before) });

    // The right pid with an offset this server never gave out: a fresh socket; the kept
    // session is gone with that attempt.
    await dropTransport(a, b);
    const pid2 = a._pid;
    const f = client("f", { auth: { name: "f", pid: pid2, offset: "0-0" } });
    await connected(f);
    const stolen = { ...state(f), rooms: await call(f, "rooms") };
    await reconnect(a);
    report("bad_offset", { same_pid: pid === pid2, stolen, owner: state(a), first });
  },

  // Broadcasts past the log's cap: the store stays within it; a client whose offset fell out
  // of it gets a fresh socket.
  async cap() {
    const a = client("a");
    const b = client("b");
    await Promise.all([connected(a), connected(b)]);
    const first = state(a);
    await call(a, "join", "r");
    await call(b, "shout", { room: "r", items: [0] });
    await newsCount(a, 1);
    await dropTransport(a, b);
    const items = Array.from({ length: 20 }, (_, index) => index + 1);
    await call(b, "shout", { room: "r", items });
    const log = await call(b, "log");
    await reconnect(a);
    report("after_cap", {
      first,
      ...state(a),
      log,
      rooms: await call(a, "rooms"),
      news: a.news,
      welcome: await welcomed(a, 2),
    });
  },
};

try {
  if (!scenarios[scenario]) throw new Error(`unknown scenario ${scenario}`);
  await scenarios[scenario]();
  report("done");
} catch (error) {
  report("failed", { error: String(error.stack || error) });
} finally {
  for (const socket of clients) socket.disconnect();
}
process.exit(0);
