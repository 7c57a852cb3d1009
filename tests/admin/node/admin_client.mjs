// Connects to an app's admin namespace as the Socket.IO Admin UI does (the official
// socket.io-client, the UI's options and auth payloads) and reports what it saw.
//
//   node tests/admin/node/admin_client.mjs --url http://127.0.0.1:N --transports polling,websocket
//       --username admin --password secret
//
// One JSON line per scenario, {"step": name, ...} or {"step": name, "error": message}; the last
// is {"step": "done", "failed": [...]}.
import { io } from "socket.io-client";

const STEP_TIMEOUT_MS = 5000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = option("--url");
const transports = option("--transports", "polling,websocket").split(",");
const username = option("--username");
const password = option("--password");

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

// What the admin UI's App.vue does: a new manager, no reconnection, credentials as auth.
function adminSocket(auth, extra = {}) {
  return io(url + "/admin", {
    forceNew: true,
    reconnection: false,
    withCredentials: true,
    transports,
    path: "/socket.io",
    auth,
    ...extra,
  });
}

function connectOrRefuse(socket) {
  return withTimeout(
    new Promise((resolve) => {
      socket.once("connect", () => resolve({ connected: true }));
      socket.once("connect_error", (err) => resolve({ connected: false, message: err.message }));
    }),
    "connect or connect_error",
  );
}

// Records every event; wait(event, predicate) resolves with the first matching arguments.
function recorder(socket) {
  const seen = [];
  const waiters = [];
  socket.onAny((event, ...args) => {
    seen.push([event, args]);
    for (const waiter of [...waiters]) {
      if (waiter.event === event && waiter.predicate(...args)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(args);
      }
    }
  });
  return {
    seen,
    wait(event, predicate = () => true) {
      const earlier = seen.find(([name, args]) => name === event && predicate(...args));
      if (earlier) return Promise.resolve(earlier[1]);
      return withTimeout(
        new Promise((resolve) => waiters.push({ event, predicate, resolve })),
        `"${event}"`,
      );
    },
  };
}

function appClient(query = {}) {
  return io(url, { forceNew: true, reconnection: false, transports, query });
}

const scenarios = {
  async login() {
    const admin = adminSocket({ username, password });
    const events = recorder(admin);
    const outcome = await connectOrRefuse(admin);
    if (!outcome.connected) throw new Error(`refused: ${outcome.message}`);
    const [config] = await events.wait("config");
    const [sessionId] = await events.wait("session");
    const [allSockets] = await events.wait("all_sockets");
    const [stats] = await events.wait("server_stats");

    // An app client arrives, joins a room through a route, is made to join another by the
    // admin's command, emits an event, and leaves.
    const user = appClient();
    await connectOrRefuse(user);
    const connected = await events.wait("socket_connected", (socket) => socket.id === user.id);
    await withTimeout(new Promise((resolve) => user.emit("enter", "lobby", resolve)), "enter ack");
    const joined = await events.wait("room_joined", (nsp, room, id) => room === "lobby" && id === user.id);
    const received = await events.wait("event_received", (nsp, id) => id === user.id);
    admin.emit("join", "/", "vip", user.id);
    const commanded = await events.wait("room_joined", (nsp, room, id) => room === "vip" && id === user.id);
    admin.emit("leave", "/", "vip", user.id);
    const left = await events.wait("room_left", (nsp, room, id) => room === "vip" && id === user.id);
    // Two ticks later the stats count the new socket and what it sent.
    const [later] = await events.wait(
      "server_stats",
      (s) => s.namespaces.some((n) => n.name === "/" && n.socketsCount >= 1),
    );
    const userId = user.id;
    const userGone = withTimeout(new Promise((resolve) => user.once("disconnect", resolve)), "disconnect");
    admin.emit("_disconnect", "/", false, userId);
    const gone = await events.wait("socket_disconnected", (nsp, id) => id === userId);
    const userDisconnect = await userGone;
    user.close();
    admin.close();
    return {
      config,
      sessionId,
      allSockets,
      stats,
      connected,
      joined,
      received,
      commanded,
      left,
      later,
      gone,
      userDisconnect,
      sessionIdForNext: sessionId,
    };
  },

  async wrong_password() {
    const admin = adminSocket({ username, password: password + "-wrong" });
    const outcome = await connectOrRefuse(admin);
    admin.close();
    return outcome;
  },

  async no_credentials() {
    const admin = adminSocket({});
    const outcome = await connectOrRefuse(admin);
    admin.close();
    return outcome;
  },

  async session_id(previous) {
    const admin = adminSocket({ sessionId: previous.login.sessionIdForNext });
    const outcome = await connectOrRefuse(admin);
    admin.close();
    const forged = adminSocket({ sessionId: "0".repeat(32) });
    const forgedOutcome = await connectOrRefuse(forged);
    forged.close();
    return { outcome, forgedOutcome };
  },

  // From its own source address (the server keys failures by address): wrong guesses until
  // it is locked out, then the right password from there and from another address.
  async rate_limit() {
    const attempts = [];
    for (let i = 0; i < 7; i++) {
      const admin = adminSocket(
        { username, password: `guess-${i}` },
        { localAddress: "127.0.0.3", transports: ["websocket"] },
      );
      attempts.push((await connectOrRefuse(admin)).message);
      admin.close();
    }
    const locked = adminSocket({ username, password }, { localAddress: "127.0.0.3", transports: ["websocket"] });
    const lockedOutcome = await connectOrRefuse(locked);
    locked.close();
    const other = adminSocket({ username, password }, { localAddress: "127.0.0.4", transports: ["websocket"] });
    const otherOutcome = await connectOrRefuse(other);
    other.close();
    return { attempts, lockedOutcome, otherOutcome };
  },
};

const results = {};
const failed = [];
for (const [name, scenario] of Object.entries(scenarios)) {
  try {
    results[name] = await scenario(results);
    report(name, results[name]);
  } catch (error) {
    failed.push(name);
    report(name, { error: String(error && error.stack ? error.stack : error) });
  }
}
report("done", { failed });
process.exit(failed.length ? 1 : 0);
