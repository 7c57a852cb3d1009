// Drives the official socket.io-client 4.x against an interop server and reports what it saw.
//
//   node tests/interop/node/client.mjs --url http://127.0.0.1:N --transports polling,websocket
//     [--parser json|msgpack]
//
// Each scenario prints one JSON line {"step": name, ...observations} or {"step": name,
// "error": message}; the last line is {"step": "done", "failed": [...]}. The exit status is
// non-zero when any scenario failed. Binary values are printed as {"$binary": hex, "$type":
// "Buffer" | "ArrayBuffer"} so the Python side can check both the bytes and their JS type.
import { io } from "socket.io-client";

const STEP_TIMEOUT_MS = 5000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = option("--url");
const transports = option("--transports", "polling,websocket").split(",");
const parserName = option("--parser", "json");
if (!url) {
  console.error("usage: node client.mjs --url http://127.0.0.1:N [--transports a,b]");
  process.exit(2);
}

const baseOptions = {
  transports,
  // Short delays: the reconnection scenario should not wait for the default backoff.
  reconnectionDelay: 100,
  reconnectionDelayMax: 200,
  timeout: STEP_TIMEOUT_MS,
};
if (parserName === "msgpack") {
  baseOptions.parser = (await import("socket.io-msgpack-parser")).default;
} else if (parserName !== "json") {
  console.error(`unknown parser ${parserName}`);
  process.exit(2);
}

function describe(value) {
  if (Buffer.isBuffer(value)) {
    return { $binary: value.toString("hex"), $type: "Buffer" };
  }
  if (value instanceof ArrayBuffer) {
    return { $binary: Buffer.from(value).toString("hex"), $type: "ArrayBuffer" };
  }
  if (Array.isArray(value)) {
    return value.map(describe);
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)]));
  }
  return value;
}

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

function once(emitter, event) {
  return withTimeout(
    new Promise((resolve) => emitter.once(event, (...args) => resolve(args))),
    `"${event}"`,
  );
}

function emitExpectingAck(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(STEP_TIMEOUT_MS).emit(event, ...args, (err, ...answer) => {
      if (err) reject(new Error(`no ack for "${event}": ${err.message}`));
      else resolve(answer);
    });
  });
}

function connectOrRefuse(socket) {
  return withTimeout(
    new Promise((resolve) => {
      socket.once("connect", () => resolve({ connected: true }));
      socket.once("connect_error", (err) =>
        resolve({ connected: false, message: err.message, data: describe(err.data ?? null) }),
      );
    }),
    "connect or connect_error",
  );
}

async function waitForFinalTransport(socket) {
  const engine = socket.io.engine;
  if (transports.length > 1 && transports[0] === "polling" && engine.transport.name === "polling") {
    await withTimeout(new Promise((resolve) => engine.once("upgrade", resolve)), "upgrade");
  }
  return engine.transport.name;
}

let firstTransport = null;
const BURST = 50;
// Emitted from the very start, so that with polling,websocket they cross the upgrade.
let burstAcks = null;
const burstEchoes = [];

const scenarios = {
  async connect(main) {
    return {
      id: main.id,
      first_transport: firstTransport,
      transport: await waitForFinalTransport(main),
    };
  },

  async ack_from_server(main) {
    const answer = await emitExpectingAck(main, "echo", "text", 42, {
      nested: { buf: Buffer.from([1, 2, 3]) },
      list: [true, null, new Uint8Array([4, 5]).buffer],
    });
    return { answer: describe(answer) };
  },

  async ack_from_client_callback(main) {
    const got = once(main, "server-got-ack");
    main.emit("ask-callback", { question: "callback", buf: Buffer.from([5]) });
    return { answer: describe(await got) };
  },

  async ack_from_client_awaited(main) {
    const got = once(main, "server-got-ack");
    main.emit("ask-await", { question: "await", buf: Buffer.from([6]) });
    return { answer: describe(await got) };
  },

  async binary_both_ways(main) {
    const back = once(main, "echo-event-back");
    main.emit("echo-event", {
      buf: Buffer.from([9, 8, 7]),
      nested: [{ array_buffer: new Uint8Array([0, 255]).buffer }],
      text: "mixed",
    });
    return { echoed: describe(await back) };
  },

  async binary_from_server(main) {
    const got = once(main, "binary");
    main.emit("send-binary");
    return { received: describe(await got) };
  },

  async burst_across_upgrade() {
    const acked = await burstAcks;
    const deadline = withTimeout(
      new Promise((resolve) => {
        const check = setInterval(() => {
          if (burstEchoes.length >= BURST) {
            clearInterval(check);
            resolve();
          }
        }, 10);
      }),
      "the burst's echoes",
    );
    await deadline;
    return { acked, echoed: burstEchoes };
  },

  // Namespaces multiplexed over the main socket's connection, as the client does by default.
  async namespaces(main) {
    // Manager.socket() connects at once (autoConnect); a second CONNECT would be a protocol error.
    const admin = main.io.socket("/admin");
    const adminOutcome = connectOrRefuse(admin);
    let nowhere = null;
    try {
      const outcome = await adminOutcome;
      if (!outcome.connected) throw new Error(`/admin refused: ${outcome.message}`);
      const [identity] = await emitExpectingAck(admin, "whoami");
      nowhere = main.io.socket("/nowhere");
      const refused = await connectOrRefuse(nowhere);
      // The refusal concerns /nowhere only: the shared connection and "/" carry on.
      const [answer] = await emitExpectingAck(main, "echo", "main still works");
      return { admin: identity, unknown_namespace: refused, main_answer: answer };
    } finally {
      admin.close();
      nowhere?.close();
    }
  },

  async middleware_refusal() {
    const refused = io(`${url}/private`, { ...baseOptions, forceNew: true });
    const refusal = await connectOrRefuse(refused);
    refused.close();
    const allowed = io(`${url}/private`, {
      ...baseOptions,
      forceNew: true,
      auth: { token: "letmein" },
    });
    try {
      const admission = await connectOrRefuse(allowed);
      const identity = admission.connected ? (await emitExpectingAck(allowed, "whoami"))[0] : null;
      return { refused: refusal, allowed: admission, identity };
    } finally {
      allowed.close();
    }
  },

  async rooms(main) {
    const room = `room-${process.pid}-${Date.now()}`;
    const peer = io(url, { ...baseOptions, forceNew: true });
    const outsider = io(url, { ...baseOptions, forceNew: true });
    try {
      await Promise.all([connectOrRefuse(peer), connectOrRefuse(outsider)]);
      const participants = { sender: main, peer, outsider };
      const seen = {};
      const finished = Object.entries(participants).map(([name, socket]) => {
        seen[name] = [];
        const onMessage = (payload) => seen[name].push(payload);
        socket.on("room-message", onMessage);
        return withTimeout(
          new Promise((resolve) => {
            const onDone = (doneRoom) => {
              if (doneRoom !== room) return;
              socket.off("room-done", onDone);
              socket.off("room-message", onMessage);
              resolve();
            };
            socket.on("room-done", onDone);
          }),
          `"room-done" on ${name}`,
        );
      });
      await emitExpectingAck(main, "join", room);
      await emitExpectingAck(peer, "join", room);
      main.emit("to-room", room, { text: "to the room", buf: Buffer.from([3]) });
      await Promise.all(finished);
      return { seen: describe(seen) };
    } finally {
      peer.close();
      outsider.close();
    }
  },

  async server_disconnect() {
    const socket = io(url, { ...baseOptions, forceNew: true });
    try {
      await connectOrRefuse(socket);
      const disconnected = once(socket, "disconnect");
      socket.emit("disconnect-me");
      const [reason] = await disconnected;
      // `active` is false when the client has given up on reconnecting, as it must here.
      return { reason, active: socket.active };
    } finally {
      socket.close();
    }
  },

  // Last: it tears down the transport every other scenario used.
  async reconnection(main) {
    const firstId = main.id;
    const disconnected = once(main, "disconnect");
    const reconnected = once(main.io, "reconnect");
    main.emit("drop-me");
    const [reason] = await disconnected;
    await reconnected;
    if (!main.connected) await once(main, "connect");
    const [answer] = await emitExpectingAck(main, "echo", "after reconnection");
    return {
      reason,
      new_id: main.id !== firstId,
      transport: await waitForFinalTransport(main),
      answer,
    };
  },
};

async function main() {
  const failed = [];
  const mainSocket = io(url, { ...baseOptions, forceNew: true });
  // The transport the session opened with; an upgrade may well finish before "connect".
  mainSocket.io.once("open", () => {
    firstTransport = mainSocket.io.engine.transport.name;
  });
  // Listeners for the server -> client acks, registered before anything can ask.
  mainSocket.on("server-asks", (payload, ack) => {
    ack({ got: payload, reply: Buffer.from([7, 8, 9]) });
  });
  mainSocket.on("echo-event-back", (payload) => {
    if (payload && typeof payload.burst === "number") burstEchoes.push(payload.burst);
  });
  const indexes = Array.from({ length: BURST }, (_, index) => index);
  burstAcks = Promise.all(
    indexes.map((index) => {
      mainSocket.emit("echo-event", { burst: index });
      return emitExpectingAck(mainSocket, "echo", index).then(([answer]) => answer);
    }),
  );
  burstAcks.catch(() => {}); // reported by the scenario, not as an unhandled rejection
  const admission = await connectOrRefuse(mainSocket);
  if (!admission.connected) {
    report("connect", { error: `could not connect: ${admission.message}` });
    process.exit(1);
  }
  for (const [name, scenario] of Object.entries(scenarios)) {
    try {
      report(name, await scenario(mainSocket));
    } catch (error) {
      failed.push(name);
      report(name, { error: String(error && error.stack ? error.stack : error) });
    }
  }
  mainSocket.close();
  report("done", { failed });
  process.exit(failed.length ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
