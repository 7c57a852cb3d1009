// The official socket.io-client 4.x carrying a browser's session cookie (Node has no cookie
// jar: the cookie rides in extraHeaders, on polling requests and on the websocket upgrade).
// Prints one JSON line per step: {"step": name, ...observations} or {"step", "error"}.
//
//   node session_client.mjs --url http://127.0.0.1:N --cookie expressio.sid=VALUE
import { io } from "socket.io-client";

const STEP_TIMEOUT_MS = 5000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = option("--url");
const cookie = option("--cookie");

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

function open(transports, headers) {
  return io(url, {
    transports,
    forceNew: true,
    reconnection: false,
    timeout: STEP_TIMEOUT_MS,
    extraHeaders: headers,
  });
}

function connected(socket) {
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    }),
    "connect",
  );
}

function call(socket, event, ...args) {
  return withTimeout(
    new Promise((resolve) => socket.emit(event, ...args, (answer) => resolve(answer))),
    `ack of ${event}`,
  );
}

async function withOrigin(transports, origin) {
  const socket = open(transports, { Cookie: cookie, Origin: origin });
  try {
    await connected(socket);
    const me = await call(socket, "me");
    return { connected: true, me };
  } catch (error) {
    return { connected: false, message: String(error.message), type: error.type ?? null };
  } finally {
    socket.close();
  }
}

const scenarios = {
  async websocket() {
    const socket = open(["websocket"], { Cookie: cookie });
    await connected(socket);
    const before = await call(socket, "me");
    const set = await call(socket, "set", { key: "from_node", value: "websocket" });
    socket.disconnect();
    return { before, set };
  },

  async polling() {
    const socket = open(["polling"], { Cookie: cookie });
    await connected(socket);
    const before = await call(socket, "me");
    const set = await call(socket, "set", { key: "from_node_polling", value: "polling" });
    const after = await call(socket, "me");
    socket.disconnect();
    return { before, set, after };
  },

  async no_cookie() {
    const socket = open(["websocket"], {});
    await connected(socket);
    const before = await call(socket, "me");
    await call(socket, "set", { key: "mine", value: 1 });
    const after = await call(socket, "me");
    socket.disconnect();
    return { before, after };
  },

  async foreign_origin_polling() {
    return withOrigin(["polling"], "http://evil.example");
  },

  async foreign_origin_websocket() {
    return withOrigin(["websocket"], "http://evil.example");
  },

  async own_origin_polling() {
    return withOrigin(["polling"], url);
  },

  async own_origin_websocket() {
    return withOrigin(["websocket"], url);
  },
};

for (const [step, run] of Object.entries(scenarios)) {
  try {
    report(step, await run());
  } catch (error) {
    report(step, { error: String(error && error.stack ? error.stack : error) });
  }
}
report("done", {});
process.exit(0);
