// Load generator for the realtime benchmark: raw Engine.IO v4 / Socket.IO v5 over `ws`.
//
//   node loadgen.js --port N --scenario acks|broadcast|connect|idle [options]
//
// It speaks the protocol directly (no socket.io-client) so that one core can receive far more
// than any server under test can produce: the hot loops look at the first two bytes of each
// frame and nothing else. Every scenario runs a warm-up, then a fixed measuring window, then
// closes its connections and exits by itself.
//
// stdout carries control lines for the runner, one per line:
//   MEASURE_START / MEASURE_END   the measuring window (the runner samples server CPU there)
//   IDLE_BASELINE / IDLE_READY    idle scenario: the runner reads server RSS, then answers a line
//   RESULT {json}                 the figures, last line
// Progress and errors go to stderr.
"use strict";

const path = require("path");
const readline = require("readline");
const WebSocket = require(path.join(__dirname, "..", "..", "node_modules", "ws"));

const CHAR_0 = 0x30; // Engine.IO "open", Socket.IO "CONNECT"
const CHAR_2 = 0x32; // Engine.IO "ping", Socket.IO "EVENT"
const CHAR_3 = 0x33; // Socket.IO "ACK"
const CHAR_4 = 0x34; // Engine.IO "message"
const PONG = Buffer.from("3");
const NAMESPACE_CONNECT = Buffer.from("40");
const TEXT = { binary: false };

const ACK_ARGUMENT = { seq: 1, text: "hello" };
const ACK_FRAME = Buffer.from('421["ack",' + JSON.stringify(ACK_ARGUMENT) + "]");

const DEFAULTS = {
  port: 0,
  scenario: "",
  clients: 0, // 0: the scenario's own default
  duration: 5,
  warmup: 1,
  concurrency: 50, // connection attempts in flight while opening clients / in `connect`
  "fanout-n": 10, // ticks the server broadcasts per trigger message
  "window-ticks": 40, // ticks in flight (sent by the server, not yet received by every client)
  "connect-timeout": 10,
};
const SCENARIO_CLIENTS = { acks: 50, broadcast: 1000, connect: 0, idle: 1000 };

function parseArgs(argv) {
  const options = { ...DEFAULTS };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    if (!(name in DEFAULTS) || i + 1 >= argv.length) throw new Error(`bad option ${argv[i]}`);
    options[name] = name === "scenario" ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!options.port) throw new Error("--port is required");
  if (!(options.scenario in SCENARIO_CLIENTS)) throw new Error(`unknown scenario ${options.scenario}`);
  if (!options.clients) options.clients = SCENARIO_CLIENTS[options.scenario];
  return options;
}

const log = (message) => process.stderr.write(`loadgen: ${message}\n`);
const control = (line) => process.stdout.write(line + "\n");
const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const now = () => Number(process.hrtime.bigint()) / 1e9;
const isPing = (data) => data.length === 1 && data[0] === CHAR_2;

// Opens one Socket.IO client on the default namespace; resolves once `40{"sid":...}` arrived.
function connectClient(port, timeoutSeconds) {
  const url = `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
  return new Promise((resolve, reject) => {
    // No permessage-deflate: socket.io's default is off, and compression would measure zlib.
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let stage = "open";
    const fail = (error) => {
      if (stage === "done") return;
      stage = "done";
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error("handshake timed out")), timeoutSeconds * 1000);
    ws.on("message", (data) => {
      if (stage === "open") {
        if (data[0] !== CHAR_0) return fail(new Error(`expected open packet, got ${data}`));
        stage = "namespace";
        ws.send(NAMESPACE_CONNECT, TEXT);
      } else if (stage === "namespace") {
        if (isPing(data)) return ws.send(PONG, TEXT);
        if (data[0] !== CHAR_4 || data[1] !== CHAR_0) {
          return fail(new Error(`expected namespace CONNECT, got ${data}`));
        }
        stage = "done";
        clearTimeout(timer);
        ws.removeAllListeners("message");
        resolve(ws);
      }
    });
    ws.on("error", (error) => fail(error));
    ws.on("close", () => fail(new Error("closed during the handshake")));
  });
}

// Opens `count` clients with at most `concurrency` handshakes in flight.
async function openClients(options, count) {
  const clients = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      clients.push(await connectClient(options.port, options["connect-timeout"]));
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, count) }, worker));
  for (const ws of clients) {
    ws.removeAllListeners("close");
    ws.removeAllListeners("error");
    ws.on("error", () => {}); // a reset while closing must not crash the generator
  }
  return clients;
}

async function closeClients(clients) {
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => ws.terminate(), 2000);
          ws.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
          ws.close();
        }),
    ),
  );
}

// Sends one event with an ack id and waits for the matching ACK; returns its parsed arguments.
function request(ws, ackId, event, args, timeoutSeconds) {
  return new Promise((resolve, reject) => {
    const prefix = `43${ackId}`;
    const timer = setTimeout(() => {
      ws.off("message", listener);
      reject(new Error(`no ack for ${event} within ${timeoutSeconds} s`));
    }, timeoutSeconds * 1000);
    const listener = (data) => {
      const text = data.toString();
      if (!text.startsWith(prefix) || text[prefix.length] !== "[") return;
      clearTimeout(timer);
      ws.off("message", listener);
      resolve(JSON.parse(text.slice(prefix.length)));
    };
    ws.on("message", listener);
    ws.send(`42${ackId}` + JSON.stringify([event, ...args]), TEXT);
  });
}

// Runs the measuring window over a monotonically growing counter.
async function measure(options, readCount) {
  await sleep(options.warmup);
  const startCount = readCount();
  const startTime = now();
  const startCpu = process.cpuUsage();
  control("MEASURE_START");
  await sleep(options.duration);
  const count = readCount() - startCount;
  const elapsed = now() - startTime;
  const cpu = process.cpuUsage(startCpu);
  control("MEASURE_END");
  return {
    count,
    elapsed_s: elapsed,
    rate_per_s: count / elapsed,
    loadgen_cpu_share: (cpu.user + cpu.system) / 1e6 / elapsed,
  };
}

async function scenarioAcks(options) {
  const clients = await openClients(options, options.clients);
  // Check once, outside the hot loop, that the server echoes the arguments exactly.
  const echoed = await request(clients[0], 7, "ack", [ACK_ARGUMENT], 5);
  if (JSON.stringify(echoed) !== JSON.stringify([ACK_ARGUMENT])) {
    throw new Error(`ack echoed ${JSON.stringify(echoed)}`);
  }
  let acks = 0;
  let running = true;
  for (const ws of clients) {
    ws.on("message", (data) => {
      if (data[0] === CHAR_4 && data[1] === CHAR_3) {
        acks++;
        if (running) ws.send(ACK_FRAME, TEXT);
      } else if (isPing(data)) {
        ws.send(PONG, TEXT);
      }
    });
  }
  for (const ws of clients) ws.send(ACK_FRAME, TEXT);
  const result = await measure(options, () => acks);
  running = false;
  await sleep(0.2); // let the acks in flight arrive before closing
  await closeClients(clients);
  return { ...result, clients: clients.length };
}

async function scenarioBroadcast(options) {
  const members = await openClients(options, options.clients);
  await Promise.all(members.map((ws) => request(ws, 1, "join", [], 10)));
  const [trigger] = await openClients(options, 1);
  trigger.on("message", (data) => {
    if (isPing(data)) trigger.send(PONG, TEXT);
  });
  const fanoutSize = options["fanout-n"];
  const windowTicks = Math.max(options["window-ticks"], fanoutSize);
  const fanoutFrame = Buffer.from(`42["fanout",{"n":${fanoutSize}}]`);
  const population = members.length;
  let delivered = 0;
  let sentTicks = 0;
  let nextTriggerAt = 0;
  let running = true;
  // Credit-based trigger: keep at most `windowTicks` ticks in flight, counted over all members,
  // so the server always has work queued but its buffers stay bounded whatever its speed.
  const triggerFanouts = () => {
    while (running && delivered >= (sentTicks - windowTicks + fanoutSize) * population) {
      trigger.send(fanoutFrame, TEXT);
      sentTicks += fanoutSize;
    }
    nextTriggerAt = (sentTicks - windowTicks + fanoutSize) * population;
  };
  let firstTick = null;
  for (const ws of members) {
    ws.on("message", (data) => {
      if (data[0] === CHAR_4 && data[1] === CHAR_2) {
        if (++delivered >= nextTriggerAt) triggerFanouts();
        if (firstTick === null) firstTick = data.toString();
      } else if (isPing(data)) {
        ws.send(PONG, TEXT);
      }
    });
  }
  // A server that drops deliveries (a slow-client policy) would starve the credit loop;
  // the watchdog notices a standstill, counts it and sends one more trigger.
  let stalls = 0;
  let lastSeen = -1;
  const watchdog = setInterval(() => {
    if (running && delivered === lastSeen) {
      stalls++;
      trigger.send(fanoutFrame, TEXT);
      sentTicks += fanoutSize;
      nextTriggerAt = (sentTicks - windowTicks + fanoutSize) * population;
    }
    lastSeen = delivered;
  }, 500);
  triggerFanouts();
  const result = await measure(options, () => delivered);
  running = false;
  clearInterval(watchdog);
  const expected = sentTicks * population;
  const drainUntil = now() + 5;
  while (delivered < expected && now() < drainUntil) await sleep(0.05);
  if (firstTick !== '42["tick",0]') log(`unexpected first tick frame ${firstTick}`);
  await closeClients([...members, trigger]);
  return {
    ...result,
    clients: population,
    ticks_sent: sentTicks,
    deliveries_missing: expected - delivered,
    stalls,
  };
}

async function scenarioConnect(options) {
  let completed = 0;
  let failures = 0;
  let running = true;
  let lastError = null;
  const worker = async () => {
    while (running) {
      let ws;
      try {
        ws = await connectClient(options.port, options["connect-timeout"]);
      } catch (error) {
        failures++;
        lastError = String(error);
        continue;
      }
      completed++;
      ws.on("error", () => {});
      await closeClients([ws]);
    }
  };
  const workers = Array.from({ length: options.concurrency }, worker);
  const result = await measure(options, () => completed);
  running = false;
  await Promise.all(workers);
  if (lastError) log(`last connection failure: ${lastError}`);
  return { ...result, concurrency: options.concurrency, failures };
}

// Waits for the runner to answer a control line (it reads the server's RSS meanwhile).
function waitForRunner(lines, line) {
  control(line);
  return new Promise((resolve, reject) => {
    lines.once("line", resolve);
    lines.once("close", () => reject(new Error("runner went away")));
  });
}

async function scenarioIdle(options) {
  const lines = readline.createInterface({ input: process.stdin });
  // Warm the server's code paths and allocator before the baseline is taken.
  await closeClients(await openClients(options, 20));
  await sleep(0.5);
  await waitForRunner(lines, "IDLE_BASELINE");
  const clients = await openClients(options, options.clients);
  for (const ws of clients) {
    ws.on("message", (data) => {
      if (isPing(data)) ws.send(PONG, TEXT);
    });
  }
  await sleep(1); // let the server settle (buffers, deferred work) before its RSS is read
  await waitForRunner(lines, "IDLE_READY");
  lines.close();
  await closeClients(clients);
  return { clients: clients.length };
}

const SCENARIOS = {
  acks: scenarioAcks,
  broadcast: scenarioBroadcast,
  connect: scenarioConnect,
  idle: scenarioIdle,
};

async function main() {
  const options = parseArgs(process.argv);
  const result = await SCENARIOS[options.scenario](options);
  control("RESULT " + JSON.stringify({ scenario: options.scenario, ...result }));
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`failed: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
  },
);
