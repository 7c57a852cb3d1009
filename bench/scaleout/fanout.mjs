// Fan-out load for the scale-out benchmark: clients spread over several server processes.
//
//   node bench/scaleout/fanout.mjs --ports A,B,C --scenario fanout|latency [--clients 1000]
//        [--duration 5] [--warmup 1] [--window-ticks 40] [--fanout-n 10] [--samples 200]
//        [--sample-timeout 2] [--give-up 3]
//
// Raw Engine.IO v4 / Socket.IO v5 over websocket (the `ws` package), on the events every peer
// implements: "join" (acked: the client is in room "bench") and "fanout" {"n": k} (broadcast
// "tick" k times to room "bench"). Clients are spread round-robin over the ports.
//
// fanout: a trigger client on the first port keeps at most `window-ticks` ticks in flight over
//   all members (credit loop) and the deliveries received per second are counted.
// latency: one member on the first port (local to the trigger) and one on each other port;
//   `samples` single ticks one at a time, and the time from trigger to arrival on each side.
//   A sample waits at most `sample-timeout` seconds for its arrivals; after `give-up` incomplete
//   samples in a row the rest are not tried (a cluster that does not deliver across processes
//   would otherwise take minutes) and count as lost.
// Prints `MEASURE_START` and `MEASURE_END` on stdout around the fan-out window (the runner reads
// the servers' CPU time there) and `RESULT {json}` as its last stdout line; progress goes to
// stderr; exits by itself.
import WebSocket from "ws";

const DEFAULTS = {
  ports: "", scenario: "fanout", clients: 1000, duration: 5, warmup: 1,
  "window-ticks": 40, "fanout-n": 10, samples: 200, "sample-timeout": 2, "give-up": 3,
};
const options = { ...DEFAULTS };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, "");
  if (!(name in DEFAULTS)) throw new Error(`bad option ${process.argv[i]}`);
  const value = process.argv[i + 1];
  options[name] = typeof DEFAULTS[name] === "number" ? Number(value) : value;
}
const ports = options.ports.split(",").map(Number);
const log = (message) => process.stderr.write(`fanout: ${message}\n`);
const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const now = () => Number(process.hrtime.bigint()) / 1e9;

// One client: connected to the namespace and joined to "bench" when the promise resolves.
function member(port, onTick) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, {
      perMessageDeflate: false,
    });
    let stage = "open";
    const timer = setTimeout(() => reject(new Error(`join timed out on ${port}`)), 20000);
    ws.on("error", reject);
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (text === "2") return ws.send("3");
      if (stage === "open" && text[0] === "0") {
        stage = "namespace";
        ws.send("40");
      } else if (stage === "namespace" && text.startsWith("40")) {
        stage = "join";
        ws.send('421["join"]');
      } else if (stage === "join" && text.startsWith("431")) {
        stage = "ready";
        clearTimeout(timer);
        resolve(ws);
      } else if (stage === "ready" && text.startsWith("42")) {
        onTick(text);
      }
    });
  });
}

function trigger(port) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, {
      perMessageDeflate: false,
    });
    ws.on("error", reject);
    ws.on("message", (data) => {
      const text = data.toString();
      if (text === "2") ws.send("3");
      else if (text[0] === "0") ws.send("40");
      else if (text.startsWith("40")) resolve(ws);
    });
  });
}

async function openMembers(count, onTick) {
  const members = [];
  for (let start = 0; start < count; start += 50) {
    const batch = [];
    for (let i = start; i < Math.min(count, start + 50); i++) batch.push(member(ports[i % ports.length], onTick));
    members.push(...(await Promise.all(batch)));
  }
  return members;
}

async function scenarioFanout() {
  let delivered = 0;
  let sentTicks = 0;
  let nextTriggerAt = 0;
  let running = true;
  let source;
  const population = options.clients;
  const fanoutSize = options["fanout-n"];
  const windowTicks = Math.max(options["window-ticks"], fanoutSize);
  const frame = `42["fanout",{"n":${fanoutSize}}]`;
  const send = () => {
    source.send(frame);
    sentTicks += fanoutSize;
    nextTriggerAt = (sentTicks - windowTicks + fanoutSize) * population;
  };
  const onTick = () => {
    if (++delivered >= nextTriggerAt) while (running && delivered >= nextTriggerAt) send();
  };
  const members = await openMembers(population, onTick);
  source = await trigger(ports[0]);
  log(`${members.length} members on ports ${ports.join(",")}`);
  let stalls = 0;
  let lastSeen = -1;
  const watchdog = setInterval(() => {
    if (running && delivered === lastSeen) {
      stalls++;
      send();
    }
    lastSeen = delivered;
  }, 500);
  send();
  await sleep(options.warmup);
  process.stdout.write("MEASURE_START\n");
  const startCount = delivered;
  const startTime = now();
  await sleep(options.duration);
  const count = delivered - startCount;
  const elapsed = now() - startTime;
  process.stdout.write("MEASURE_END\n");
  running = false;
  clearInterval(watchdog);
  const expected = sentTicks * population;
  const drainUntil = now() + 5;
  while (delivered < expected && now() < drainUntil) await sleep(0.05);
  for (const ws of [...members, source]) ws.terminate();
  return {
    deliveries_per_s: count / elapsed, deliveries: count, window_s: elapsed,
    clients: population, processes: ports.length,
    ticks_sent: sentTicks, deliveries_missing: expected - delivered, stalls,
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function scenarioLatency() {
  let waiting = null;
  const arrivals = new Map();
  const expectedArrivals = ports.length;
  const onTickFor = (index) => () => {
    if (!waiting) return;
    arrivals.set(index, now());
    if (arrivals.size === expectedArrivals) waiting();
  };
  const members = [];
  for (let i = 0; i < ports.length; i++) {
    const ws = await member(ports[i], onTickFor(i));
    members.push(ws);
  }
  const source = await trigger(ports[0]);
  const local = [];
  const remote = [];
  let incompleteInARow = 0;
  let gaveUp = false;
  for (let sample = 0; sample < options.samples + 20; sample++) {
    arrivals.clear();
    const done = new Promise((resolve) => { waiting = resolve; });
    const sent = now();
    source.send('42["fanout",{"n":1}]');
    await Promise.race([done, sleep(options["sample-timeout"])]);
    waiting = null;
    incompleteInARow = arrivals.size === expectedArrivals ? 0 : incompleteInARow + 1;
    if (incompleteInARow >= options["give-up"]) {
      log(`${incompleteInARow} samples in a row incomplete: giving up`);
      gaveUp = true;
      break;
    }
    if (sample < 20) continue; // warm-up
    if (arrivals.has(0)) local.push((arrivals.get(0) - sent) * 1e6);
    for (let i = 1; i < ports.length; i++) if (arrivals.has(i)) remote.push((arrivals.get(i) - sent) * 1e6);
    await sleep(0.002);
  }
  for (const ws of [...members, source]) ws.terminate();
  return {
    samples: options.samples, processes: ports.length,
    local_median_us: local.length ? median(local) : null,
    remote_median_us: remote.length ? median(remote) : null,
    remote_added_us: local.length && remote.length ? median(remote) - median(local) : null,
    lost: options.samples * ports.length - local.length - remote.length, gave_up: gaveUp,
  };
}

const scenarios = { fanout: scenarioFanout, latency: scenarioLatency };
scenarios[options.scenario]().then(
  (result) => {
    process.stdout.write("RESULT " + JSON.stringify({ scenario: options.scenario, ...result }) + "\n");
    process.exit(0);
  },
  (error) => {
    log(`failed: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
  },
);
