// Two official socket.io-client 4.x clients on two server processes of one cluster.
//
//   node tests/scaleout/node/cluster_clients.mjs --urls http://127.0.0.1:A,http://127.0.0.1:B
//                                                [--transports polling,websocket]
//
// X connects to A, Y to B. Y joins "node-room"; X broadcasts "from-node" to everyone and bytes
// to "node-room"; both report what they received. Then the script prints {"step": "ready"}
// and waits for a "from-python" broadcast on both clients before {"step": "done"}. One JSON
// line per step; an {"error"} line and a non-zero exit on failure or after STEP_TIMEOUT_MS.
import { io } from "socket.io-client";

const STEP_TIMEOUT_MS = 10000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const [urlA, urlB] = option("--urls", "").split(",");
const transports = option("--transports", "polling,websocket").split(",");
const report = (record) => console.log(JSON.stringify(record));
const show = (value) =>
  Buffer.isBuffer(value) ? { $binary: value.toString("hex") } : value;

function connect(url) {
  const socket = io(url, { transports, reconnection: false, timeout: STEP_TIMEOUT_MS });
  const received = [];
  socket.onAny((event, ...args) => received.push([event, ...args.map(show)]));
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve({ socket, received }));
    socket.once("connect_error", reject);
  });
}

function waitFor(client, event, count = 1) {
  return new Promise((resolve, reject) => {
    const check = () => client.received.filter(([name]) => name === event).length >= count;
    if (check()) return resolve();
    const timer = setTimeout(
      () => reject(new Error(`${event} never came: ${JSON.stringify(client.received)}`)),
      STEP_TIMEOUT_MS,
    );
    client.socket.onAny(() => {
      if (check()) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

const call = (client, event, ...args) =>
  client.socket.timeout(STEP_TIMEOUT_MS).emitWithAck(event, ...args);

try {
  const x = await connect(urlA);
  const y = await connect(urlB);
  const whoX = await call(x, "whoami");
  const whoY = await call(y, "whoami");
  report({ step: "connected", pids: [whoX.pid, whoY.pid], transport: x.socket.io.engine.transport.name });

  await call(y, "join", "node-room");
  await call(x, "broadcast", { event: "from-node", args: [{ text: "hi", n: 1 }] });
  await call(x, "broadcast", { event: "to-room", args: [Buffer.from([1, 2, 3])], to: "node-room" });
  await call(x, "broadcast", { event: "node-fence", args: [] });
  await waitFor(x, "node-fence");
  await waitFor(y, "node-fence");
  report({ step: "broadcasts", x: x.received, y: y.received });

  report({ step: "ready" });
  await waitFor(x, "from-python");
  await waitFor(y, "from-python");
  report({
    step: "from-python",
    x: x.received.filter(([name]) => name === "from-python"),
    y: y.received.filter(([name]) => name === "from-python"),
  });
  x.socket.close();
  y.socket.close();
  report({ step: "done" });
  process.exit(0);
} catch (error) {
  report({ step: "error", error: String(error && error.stack ? error.stack : error) });
  process.exit(1);
}
