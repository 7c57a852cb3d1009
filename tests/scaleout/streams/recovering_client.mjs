// One official socket.io-client that loses its connection to process A and comes back on B.
//
//   node tests/scaleout/streams/recovering_client.mjs --from URL_A --to URL_B --redis URL
//                                                    --helpers URL,URL
//
// X connects to A and joins "r"; a helper broadcasts "m" 0 to "r" and X gets it (X now has
// an offset). X's transport is closed (no reconnection of its own); once A has kept X's
// session in Redis, helpers (one per URL) broadcast "m" 1..4 to "r", "not-me" to "elsewhere"
// and "not-me" to everyone but "r". X then reconnects to B with its pid and offset, reports
// who it is there and what it received, then gets "m" 5 broadcast to "r" after it is back.
// One JSON line: {"before", "after", "recovered", "received", "kept": {pid, offset}}; {"error"} and a non-zero exit on failure.
import { io } from "socket.io-client";
import { createClient } from "redis";

const STEP_TIMEOUT_MS = 10000;
const option = (name) => process.argv[process.argv.indexOf(name) + 1];
const transports = ["websocket"];

function connect(url) {
  const socket = io(url, { transports, reconnection: false, timeout: STEP_TIMEOUT_MS });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

const call = (socket, event, ...args) => socket.timeout(STEP_TIMEOUT_MS).emitWithAck(event, ...args);

function waitUntil(check, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = async () => {
      if (await check()) return resolve();
      if (Date.now() - started > STEP_TIMEOUT_MS) return reject(new Error(`${what} never happened`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

try {
  const redis = createClient({ url: option("--redis") });
  await redis.connect();
  const helpers = await Promise.all(option("--helpers").split(",").map(connect));
  const x = await connect(option("--from"));
  const received = [];
  x.onAny((event, ...args) => received.push([event, ...args]));
  const before = await call(x, "whoami");
  await call(x, "join", "r");
  await call(helpers[0], "broadcast", { event: "m", data: 0, to: "r" });
  await waitUntil(() => received.length === 1, "the first broadcast");

  const gone = new Promise((resolve) => x.once("disconnect", resolve));
  x.io.engine.close();
  await gone;
  await waitUntil(async () => (await redis.exists(`sio:session:${x._pid}`)) === 1, "the kept session");
  for (let i = 1; i <= 4; i++) {
    await call(helpers[i % helpers.length], "broadcast", { event: "m", data: i, to: "r" });
  }
  await call(helpers[0], "broadcast", { event: "not-me", data: "elsewhere", to: "elsewhere" });
  await call(helpers[helpers.length - 1], "broadcast", { event: "m-all", data: "all" });

  const kept = { pid: x._pid, offset: x._lastOffset };
  x.io.uri = option("--to");
  const back = new Promise((resolve, reject) => {
    x.once("connect", resolve);
    x.once("connect_error", reject);
  });
  x.connect();
  await back;
  const recovered = x.recovered;
  const after = await call(x, "whoami");
  await call(helpers[0], "broadcast", { event: "m", data: 5, to: "r" });
  await waitUntil(() => received.some(([event, data]) => event === "m" && data === 5), "m 5");
  console.log(JSON.stringify({ before, after, recovered, received, kept }));
  for (const socket of [x, ...helpers]) socket.disconnect();
  await redis.quit();
  process.exit(0);
} catch (error) {
  console.log(JSON.stringify({ error: String(error) }));
  process.exit(1);
}
