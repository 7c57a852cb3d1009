// Load generator for the realtime benchmark: raw Engine.IO v4 / Socket.IO v5 over websocket.
//
//   node loadgen.js --port N --scenario acks|broadcast|broadcast_ack|connect|idle [options]
//
// It speaks the protocol directly, on a minimal websocket client over `net` (no socket.io-client,
// not even the `ws` package, whose per-frame work would make the generator the limit), so that
// one core can receive far more than any server under test can produce: the hot loops look at
// the first two bytes of each message and nothing else. Every scenario runs a warm-up, then a
// fixed measuring window, then closes its connections and exits by itself.
//
// stdout carries control lines for the runner, one per line:
//   MEASURE_START / MEASURE_END   the measuring window (the runner samples server CPU there)
//   IDLE_BASELINE / IDLE_READY    idle scenario: the runner reads server RSS, then answers a line
//   RESULT {json}                 the figures, last line
// Progress and errors go to stderr.
"use strict";

const net = require("net");
const readline = require("readline");

const CHAR_0 = 0x30; // Engine.IO "open", Socket.IO "CONNECT"
const CHAR_2 = 0x32; // Engine.IO "ping", Socket.IO "EVENT"
const CHAR_3 = 0x33; // Socket.IO "ACK"
const CHAR_4 = 0x34; // Engine.IO "message"

// Client frames must be masked; a zero mask key is valid and leaves the payload as it is, so a
// frame is built once and written as many times as needed.
function textFrame(text) {
  const payload = Buffer.from(text);
  const length = payload.length;
  let header;
  if (length < 126) header = Buffer.from([0x81, 0x80 | length, 0, 0, 0, 0]);
  else if (length < 65536) {
    header = Buffer.from([0x81, 0x80 | 126, length >> 8, length & 255, 0, 0, 0, 0]);
  }
  else throw new Error("frame too large for the load generator");
  return Buffer.concat([header, payload]);
}

const PONG = textFrame("3");
const NAMESPACE_CONNECT = textFrame("40");
const CLOSE_NORMAL = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);

const ACK_ARGUMENT = { seq: 1, text: "hello" };
const ACK_FRAME = textFrame('421["ack",' + JSON.stringify(ACK_ARGUMENT) + "]");

// The fixed key of RFC 6455's example; the server's answer is checked once per connection by
// its status line only, which is all a benchmark client needs.
function upgradeRequest(port) {
  return Buffer.from(
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
      `Host: 127.0.0.1:${port}\r\n` +
      "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
}

// A websocket client connection reduced to what the benchmark needs: it hands each complete
// message to `onMessage(buffer, start, length)` without copying it, answers websocket pings, and
// keeps a partial frame only when a read ends inside one.
class Client {
  constructor(socket) {
    this.socket = socket;
    this.rest = null;
    this.upgraded = false;
    this.closed = false;
    this.onMessage = () => {};
    this.onClose = () => {};
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.receive(chunk));
    socket.on("error", () => {}); // a reset surfaces as "close" right after
    socket.on("close", () => {
      this.closed = true;
      this.onClose();
    });
  }

  send(frame) {
    if (!this.closed) this.socket.write(frame);
  }

  sendText(text) {
    this.send(textFrame(text));
  }

  receive(chunk) {
    let buffer = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = null;
    let at = 0;
    if (!this.upgraded) {
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) {
        this.rest = buffer;
        return;
      }
      if (!buffer.toString("latin1", 0, 12).startsWith("HTTP/1.1 101")) {
        this.fail(new Error(`upgrade refused: ${buffer.toString("latin1", 0, end)}`));
        return;
      }
      this.upgraded = true;
      at = end + 4;
    }
    const size = buffer.length;
    while (at + 2 <= size) {
      const first = buffer[at];
      let length = buffer[at + 1] & 0x7f;
      let start = at + 2;
      if (length === 126) {
        if (start + 2 > size) break;
        length = buffer.readUInt16BE(at + 2);
        start += 2;
      } else if (length === 127) {
        if (start + 8 > size) break;
        length = Number(buffer.readBigUInt64BE(at + 2));
        start += 8;
      }
      if (start + length > size) break;
      const opcode = first & 0x0f;
      if (opcode === 1 || opcode === 2) this.onMessage(buffer, start, length);
      else if (opcode === 8) this.socket.end();
      else if (opcode === 9) this.pong(buffer.subarray(start, start + length));
      at = start + length;
    }
    if (at < size) this.rest = buffer.subarray(at);
  }

  // A websocket ping (not Engine.IO's): answered with a pong carrying the same bytes.
  pong(payload) {
    this.send(Buffer.concat([Buffer.from([0x8a, 0x80 | payload.length, 0, 0, 0, 0]), payload]));
  }

  fail(error) {
    this.error = error;
    this.socket.destroy();
  }

  close() {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const timer = setTimeout(() => this.socket.destroy(), 2000);
      this.onClose = () => {
        clearTimeout(timer);
        resolve();
      };
      this.send(CLOSE_NORMAL);
    });
  }
}

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
const SCENARIO_CLIENTS = { acks: 50, broadcast: 1000, broadcast_ack: 1000, connect: 0, idle: 1000 };

function parseArgs(argv) {
  const options = { ...DEFAULTS };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    if (!(name in DEFAULTS) || i + 1 >= argv.length) throw new Error(`bad option ${argv[i]}`);
    options[name] = name === "scenario" ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!options.port) throw new Error("--port is required");
  if (!(options.scenario in SCENARIO_CLIENTS)) {
    throw new Error(`unknown scenario ${options.scenario}`);
  }
  if (!options.clients) options.clients = SCENARIO_CLIENTS[options.scenario];
  return options;
}

const log = (message) => process.stderr.write(`loadgen: ${message}\n`);
const control = (line) => process.stdout.write(line + "\n");
const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const now = () => Number(process.hrtime.bigint()) / 1e9;
const isPing = (buffer, start, length) => length === 1 && buffer[start] === CHAR_2;
const text = (buffer, start, length) => buffer.toString("utf8", start, start + length);

// Opens one Socket.IO client on the default namespace; resolves once `40{"sid":...}` arrived.
function connectClient(port, timeoutSeconds) {
  return new Promise((resolve, reject) => {
    const client = new Client(net.connect(port, "127.0.0.1"));
    let stage = "open";
    const fail = (error) => {
      if (stage === "done") return;
      stage = "done";
      clearTimeout(timer);
      client.socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error("handshake timed out")), timeoutSeconds * 1000);
    client.onMessage = (buffer, start, length) => {
      if (stage === "open") {
        if (buffer[start] !== CHAR_0) {
          return fail(new Error(`expected open, got ${text(buffer, start, length)}`));
        }
        stage = "namespace";
        client.send(NAMESPACE_CONNECT);
      } else if (stage === "namespace") {
        if (isPing(buffer, start, length)) return client.send(PONG);
        if (buffer[start] !== CHAR_4 || buffer[start + 1] !== CHAR_0) {
          return fail(new Error(`expected namespace CONNECT, got ${text(buffer, start, length)}`));
        }
        stage = "done";
        clearTimeout(timer);
        client.onMessage = () => {};
        client.onClose = () => {};
        resolve(client);
      }
    };
    client.onClose = () => fail(client.error || new Error("closed during the handshake"));
    client.socket.write(upgradeRequest(port));
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
  return clients;
}

async function closeClients(clients) {
  await Promise.all(clients.map((client) => client.close()));
}

// Sends one event with an ack id and waits for the matching ACK; returns its parsed arguments.
// Used outside the hot loops only (joins, the one-off echo check).
function request(client, ackId, event, args, timeoutSeconds) {
  return new Promise((resolve, reject) => {
    const previous = client.onMessage;
    const prefix = `43${ackId}[`;
    const timer = setTimeout(() => {
      client.onMessage = previous;
      reject(new Error(`no ack for ${event} within ${timeoutSeconds} s`));
    }, timeoutSeconds * 1000);
    client.onMessage = (buffer, start, length) => {
      if (isPing(buffer, start, length)) return client.send(PONG);
      const message = text(buffer, start, length);
      if (!message.startsWith(prefix)) return;
      clearTimeout(timer);
      client.onMessage = previous;
      resolve(JSON.parse(message.slice(prefix.length - 1)));
    };
    client.sendText(`42${ackId}` + JSON.stringify([event, ...args]));
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
  for (const client of clients) {
    client.onMessage = (buffer, start, length) => {
      if (buffer[start] === CHAR_4 && buffer[start + 1] === CHAR_3) {
        acks++;
        if (running) client.send(ACK_FRAME);
      } else if (isPing(buffer, start, length)) {
        client.send(PONG);
      }
    };
  }
  for (const client of clients) client.send(ACK_FRAME);
  const result = await measure(options, () => acks);
  running = false;
  await sleep(0.2); // let the acks in flight arrive before closing
  await closeClients(clients);
  return { ...result, clients: clients.length };
}

async function scenarioBroadcast(options) {
  const members = await openClients(options, options.clients);
  await Promise.all(members.map((client) => request(client, 1, "join", [], 10)));
  const [trigger] = await openClients(options, 1);
  trigger.onMessage = (buffer, start, length) => {
    if (isPing(buffer, start, length)) trigger.send(PONG);
  };
  const fanoutSize = options["fanout-n"];
  const windowTicks = Math.max(options["window-ticks"], fanoutSize);
  const fanoutFrame = textFrame(`42["fanout",{"n":${fanoutSize}}]`);
  const population = members.length;
  let delivered = 0;
  let sentTicks = 0;
  let nextTriggerAt = 0;
  let running = true;
  const sendFanout = () => {
    trigger.send(fanoutFrame);
    sentTicks += fanoutSize;
    nextTriggerAt = (sentTicks - windowTicks + fanoutSize) * population;
  };
  // Credit-based trigger: keep at most `windowTicks` ticks in flight, counted over all members,
  // so the server always has work queued but its buffers stay bounded whatever its speed.
  const triggerFanouts = () => {
    while (running && delivered >= nextTriggerAt) sendFanout();
  };
  let firstTick = null;
  for (const client of members) {
    client.onMessage = (buffer, start, length) => {
      if (buffer[start] === CHAR_4 && buffer[start + 1] === CHAR_2) {
        if (++delivered >= nextTriggerAt) triggerFanouts();
        if (firstTick === null) firstTick = text(buffer, start, length);
      } else if (isPing(buffer, start, length)) {
        client.send(PONG);
      }
    };
  }
  // A server that drops deliveries (a slow-client policy) would starve the credit loop;
  // the watchdog notices a standstill, counts it and sends one more trigger.
  let stalls = 0;
  let lastSeen = -1;
  const watchdog = setInterval(() => {
    if (running && delivered === lastSeen) {
      stalls++;
      sendFanout();
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
  // '42["tick",0]', or with connection state recovery '42["tick",0,"<offset>"]'
  if (!/^42\["tick",0(,"[\w-]+")?\]$/.test(firstTick ?? "")) {
    log(`unexpected first tick frame ${firstTick}`);
  }
  await closeClients([...members, trigger]);
  return {
    ...result,
    clients: population,
    ticks_sent: sentTicks,
    deliveries_missing: expected - delivered,
    stalls,
  };
}

// Rounds, one at a time, to `clients` members of one room: first plain broadcasts (the trigger
// sends `fanout` {n: 1}; a round ends when every member received the tick), then broadcasts
// with acks (the trigger sends `fanout_ack` with an ack id; the server broadcasts the tick
// asking each member for an ack, every member answers, and the server acks the trigger once it
// has every answer). The measuring window covers the ack rounds; both round times are reported.
async function scenarioBroadcastAck(options) {
  const members = await openClients(options, options.clients);
  await Promise.all(members.map((client) => request(client, 1, "join", [], 10)));
  const [trigger] = await openClients(options, 1);
  const population = members.length;
  let delivered = 0;
  let answeredRound = null;
  let roundDone = null;
  for (const client of members) {
    client.onMessage = (buffer, start, length) => {
      if (buffer[start] === CHAR_4 && buffer[start + 1] === CHAR_2) {
        // 42["tick",i] (plain) or 42<id>["tick",i] (asking for an ack): answer the id.
        let at = start + 2;
        while (buffer[at] !== 0x5b) at++; // "["
        if (at > start + 2) client.sendText("43" + buffer.toString("latin1", start + 2, at) + "[1]");
        if (++delivered === population && roundDone !== null) roundDone();
      } else if (isPing(buffer, start, length)) {
        client.send(PONG);
      }
    };
  }
  trigger.onMessage = (buffer, start, length) => {
    if (buffer[start] === CHAR_4 && buffer[start + 1] === CHAR_3) {
      answeredRound(text(buffer, start, length));
    } else if (isPing(buffer, start, length)) {
      trigger.send(PONG);
    }
  };
  const plainFrame = textFrame('42["fanout",{"n":1}]');
  const plainRound = () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("a plain round lost deliveries")), 15000);
      delivered = 0;
      roundDone = () => {
        clearTimeout(timer);
        resolve();
      };
      trigger.send(plainFrame);
    });
  let ackId = 0;
  const ackRound = async () => {
    delivered = 0;
    roundDone = null;
    const id = ackId++;
    const answer = await new Promise((resolve, reject) => {
      // A server without `fanout_ack` never answers: fail rather than wait for ever.
      const timer = setTimeout(() => reject(new Error("no answer to fanout_ack")), 15000);
      answeredRound = (text) => {
        clearTimeout(timer);
        resolve(text);
      };
      trigger.sendText(`42${id}["fanout_ack",{"n":1}]`);
    });
    if (answer !== `43${id}[${population}]`) throw new Error(`round answered ${answer}`);
  };
  // The plain rounds, timed here (no CPU sampling), as long as the measuring window.
  let plainRounds = 0;
  const plainUntil = now() + options.warmup + options.duration;
  let plainStart = null;
  while (now() < plainUntil) {
    await plainRound();
    if (plainStart === null) plainStart = now(); // the first round warms up
    else plainRounds++;
  }
  const plainElapsed = now() - plainStart;
  let running = true;
  let ackRounds = 0;
  const loop = (async () => {
    while (running) {
      await ackRound();
      ackRounds++;
    }
  })();
  const result = await measure(options, () => ackRounds * population);
  running = false;
  await loop;
  await closeClients([...members, trigger]);
  const plainRoundMs = (plainElapsed / plainRounds) * 1000;
  const ackRoundMs = (result.elapsed_s / (result.count / population)) * 1000;
  return {
    ...result,
    clients: population,
    plain_round_ms: plainRoundMs,
    ack_round_ms: ackRoundMs,
    ack_over_plain: ackRoundMs / plainRoundMs,
  };
}

async function scenarioConnect(options) {
  let completed = 0;
  let failures = 0;
  let running = true;
  let lastError = null;
  const worker = async () => {
    while (running) {
      let client;
      try {
        client = await connectClient(options.port, options["connect-timeout"]);
      } catch (error) {
        failures++;
        lastError = String(error);
        await sleep(0.01); // a refusing server must not turn this into a busy loop
        continue;
      }
      completed++;
      await client.close();
    }
  };
  const workers = Array.from({ length: options.concurrency }, worker);
  const result = await measure(options, () => completed);
  running = false;
  await Promise.all(workers);
  if (lastError) log(`last connection failure: ${lastError}`);
  return { ...result, concurrency: options.concurrency, failures };
}

// The runner's answers on stdin, one line each, kept in order even if they arrive early.
function runnerLines() {
  const queued = [];
  const waiting = [];
  let closed = false;
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => (waiting.length ? waiting.shift().resolve(line) : queued.push(line)));
  lines.on("close", () => {
    closed = true;
    for (const waiter of waiting.splice(0)) waiter.reject(new Error("runner went away"));
  });
  return {
    // Prints a control line, then waits for the runner's answer (it reads server RSS meanwhile).
    ask(line) {
      control(line);
      if (queued.length) return Promise.resolve(queued.shift());
      if (closed) return Promise.reject(new Error("runner went away"));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    close: () => lines.close(),
  };
}

async function scenarioIdle(options) {
  const runner = runnerLines();
  // Warm the server's code paths and allocator before the baseline is taken.
  await closeClients(await openClients(options, 20));
  await sleep(0.5);
  await runner.ask("IDLE_BASELINE");
  const connectStart = now();
  const clients = await openClients(options, options.clients);
  const connectSeconds = now() - connectStart;
  for (const client of clients) {
    client.onMessage = (buffer, start, length) => {
      if (isPing(buffer, start, length)) client.send(PONG);
    };
  }
  await sleep(1); // let the server settle (buffers, deferred work) before its RSS is read
  await runner.ask("IDLE_READY");
  runner.close();
  await closeClients(clients);
  return { clients: clients.length, connect_s: connectSeconds };
}

const SCENARIOS = {
  acks: scenarioAcks,
  broadcast: scenarioBroadcast,
  broadcast_ack: scenarioBroadcastAck,
  connect: scenarioConnect,
  idle: scenarioIdle,
};

async function main() {
  const options = parseArgs(process.argv);
  const result = await SCENARIOS[options.scenario](options);
  control("RESULT " + JSON.stringify({ scenario: options.scenario, ...result }));
}

// The websocket client and its helpers serve the soak generator too (bench/soak/soakgen.js).
module.exports = {
  CHAR_2, CHAR_4, PONG, Client, textFrame, upgradeRequest, connectClient, openClients,
  closeClients, request, runnerLines, isPing, text, now, sleep, log, control,
};

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error) => {
      log(`failed: ${error && error.stack ? error.stack : error}`);
      process.exit(1);
    },
  );
}
