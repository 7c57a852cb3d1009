// Drives the official socket.io-client 4.x against the express.io app under test
// (tests/expressio_api/app_under_test.py) and prints one JSON line per scenario:
// {"step": name, ...observations} or {"step": name, "error": message}; last {"step": "done"}.
//
//   node express_io_client.mjs --url http://127.0.0.1:N [--transports polling,websocket]
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

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function open(namespace = "/", options = {}) {
  const socket = io(url + namespace, {
    transports,
    forceNew: true,
    reconnection: false,
    timeout: STEP_TIMEOUT_MS,
    ...options,
  });
  const received = [];
  socket.onAny((event, ...args) => received.push([event, ...args]));
  socket.received = received;
  return socket;
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

function nextEvent(socket, event) {
  return withTimeout(new Promise((resolve) => socket.once(event, (...args) => resolve(args))), event);
}

function call(socket, event, ...args) {
  return withTimeout(
    new Promise((resolve) => socket.emit(event, ...args, (...answer) => resolve(answer))),
    `ack of ${event}`,
  );
}

const scenarios = {
  async respond_and_extra_arguments() {
    const socket = open();
    await connected(socket);
    const echo = await call(socket, "echo", { hello: "world" });
    const extra = await call(socket, "args", "one", 2, { three: 3 });
    const viaEmitWithAck = await socket.timeout(STEP_TIMEOUT_MS).emitWithAck("echo_async", "x");
    socket.disconnect();
    return { echo, extra, viaEmitWithAck };
  },

  async server_emit_with_callback() {
    const socket = open();
    await connected(socket);
    socket.on("question", (data, ack) => ack("yes", 42));
    const answer = nextEvent(socket, "answer");
    socket.emit("emit_callback", "ready?");
    const answered = await answer;
    const ackValue = await call(socket, "emit_with_ack", { timeout: 5 });
    socket.disconnect();
    return { answered, ackValue };
  },

  async broadcast_excludes_the_sender() {
    const sender = open();
    const receiver = open();
    await Promise.all([connected(sender), connected(receiver)]);
    const receiverFence = nextEvent(receiver, "fence");
    const senderFence = nextEvent(sender, "fence");
    await call(sender, "broadcast", { hi: "all" });
    await Promise.all([receiverFence, senderFence]);
    const events = (socket) => socket.received.map((entry) => entry[0]);
    const result = {
      receiver: receiver.received.filter((entry) => entry[0] === "shout"),
      senderEvents: events(sender),
    };
    sender.disconnect();
    receiver.disconnect();
    return result;
  },

  async rooms() {
    const sender = open();
    const member = open();
    const outsider = open();
    await Promise.all([connected(sender), connected(member), connected(outsider)]);
    const rooms = await call(member, "join", "hipster");
    const fences = [sender, member, outsider].map((socket) => nextEvent(socket, "fence"));
    await call(sender, "room_broadcast", { room: "hipster", message: "hey" });
    await Promise.all(fences);
    const got = (socket) => socket.received.filter((entry) => entry[0] === "room_message");
    const result = { rooms, member: got(member), sender: got(sender), outsider: got(outsider) };
    for (const socket of [sender, member, outsider]) socket.disconnect();
    return result;
  },

  async forwarding_chain() {
    const socket = open();
    await connected(socket);
    const answer = await call(socket, "chain_a", "payload");
    const steps = socket.received.filter((entry) => entry[0] === "step").map((entry) => entry[1]);
    const unknown = await call(socket, "forward_unknown");
    socket.disconnect();
    return { answer, steps, unknown };
  },

  async unknown_event_times_out() {
    // socket.io ignores an event nobody listens to: the client's own ack timeout applies
    const socket = open();
    await connected(socket);
    let outcome;
    try {
      outcome = { answered: await socket.timeout(300).emitWithAck("nobody-routes-this", 1) };
    } catch (error) {
      outcome = { timedOut: true, message: error.message };
    }
    const after = await call(socket, "echo", "alive");
    socket.disconnect();
    return { ...outcome, after };
  },

  async handler_exceptions() {
    const socket = open();
    await connected(socket);
    const sync = await call(socket, "boom");
    const async_ = await call(socket, "boom_async");
    const after = await call(socket, "echo", "alive");
    socket.disconnect();
    return { sync, async: async_, after, connected: true };
  },

  async middleware_refusal() {
    const socket = open("/", { auth: { deny: true } });
    try {
      await connected(socket);
      return { refused: false };
    } catch (error) {
      return { refused: true, message: error.message };
    } finally {
      socket.disconnect();
    }
  },

  async namespace() {
    const admin = open("/admin", { auth: { token: "secret" } });
    await connected(admin);
    const whoami = await call(admin, "whoami");
    const id = admin.id;
    const refused = open("/admin", { auth: { token: "nope" } });
    let message = null;
    try {
      await connected(refused);
    } catch (error) {
      message = error.message;
    }
    refused.disconnect();
    admin.disconnect();
    return { whoami, id, message };
  },

  async disconnect_reason() {
    const socket = open();
    await connected(socket);
    await call(socket, "echo", "after the connect hook");
    const id = socket.id;
    socket.disconnect();
    return { id };
  },

  async server_disconnect() {
    const socket = open();
    await connected(socket);
    const reason = withTimeout(new Promise((resolve) => socket.once("disconnect", resolve)), "disconnect");
    socket.emit("disconnect_me");
    return { reason: await reason };
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
