// Drives the official socket.io-client 4.x against tests/limits/limits_server.py run with
// --gate (allow_request refuses a handshake whose query has "deny", raises for "boom").
// Prints one JSON line per scenario: {"step": name, ...observations} or {"step", "error"};
// last {"step": "done"}.
//
//   node allow_request_client.mjs --url http://127.0.0.1:N --transports polling|websocket
import { io } from "socket.io-client";

const STEP_TIMEOUT_MS = 5000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = option("--url");
const transports = option("--transports", "polling,websocket").split(",");

function report(step, observations) {
  process.stdout.write(JSON.stringify({ step, ...observations }) + "\n");
}

function open(query) {
  return io(url, { transports, query, forceNew: true, reconnection: false, timeout: STEP_TIMEOUT_MS });
}

// "connect" or the connect_error's message, whichever comes first.
function outcome(socket) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("neither connect nor connect_error")), STEP_TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve({ connected: true });
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      // Polling errors carry the HTTP status as their description.
      const status = typeof error.description === "number" ? error.description : null;
      resolve({ connected: false, message: error.message, status });
    });
  });
}

const scenarios = {
  async refused() {
    const socket = open({ deny: "1" });
    const result = await outcome(socket);
    socket.close();
    return result;
  },

  async gate_raised() {
    const socket = open({ boom: "1" });
    const result = await outcome(socket);
    socket.close();
    return result;
  },

  async accepted() {
    const socket = open({ welcome: "1" });
    const result = await outcome(socket);
    const echo = await socket.timeout(STEP_TIMEOUT_MS).emitWithAck("echo", { via: transports[0] });
    const transport = socket.io.engine.transport.name;
    socket.close();
    return { ...result, echo, transport };
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
