// Load generator for the soak benchmark: hostile and heavy clients, raw Engine.IO v4 / Socket.IO
// v5 over the benchmark's minimal websocket client (bench/realtime/loadgen.js) and raw HTTP/1.1.
//
//   node soakgen.js --port N --mode slow|flood-ws|flood-polling|probe|http [options]
//
// Modes:
//   slow           `slow-clients` clients join room "bench" and then never read their socket
//                  (the raw TCP socket is paused); one well-behaved client joins too, reads
//                  everything and asks the server for `broadcasts` broadcasts of `size`
//                  characters, one every `interval` seconds, while it polls the server's `stats`
//   flood-ws       new websocket connections as fast as the server takes them (`concurrency`
//                  in flight), each through the Engine.IO handshake and the Socket.IO CONNECT,
//                  then reset; for `duration` seconds
//   flood-polling  Engine.IO polling handshakes over keep-alive connections, never followed by
//                  a poll: each one leaves a session open on the server; for `duration` seconds
//   probe          one well-behaved client emitting with ack in a loop, one at a time, at most
//                  one every `interval` seconds; the runner names the phases on stdin ("phase
//                  NAME", "stats", "stop") and gets latency figures per phase
//   http           `requests` GETs of `path` without cookies over `concurrency` keep-alive
//                  connections
//
// stdout carries control lines for the runner (see each mode), the last one `RESULT {json}`.
"use strict";

const net = require("net");
const path = require("path");
const readline = require("readline");
const {
  CHAR_2, CHAR_4, PONG, connectClient, openClients, runnerLines, isPing,
  text, now, sleep, log, control,
} = require(path.join(__dirname, "..", "realtime", "loadgen.js"));

const DEFAULTS = {
  port: 0,
  mode: "",
  duration: 10,
  concurrency: 64,
  interval: 0.05,
  "slow-clients": 50,
  broadcasts: 200,
  size: 300000,
  drain: 10, // seconds the well-behaved client may wait for the last broadcasts
  requests: 1000,
  path: "/",
  "connect-timeout": 10,
};

function parseArgs(argv) {
  const options = { ...DEFAULTS };
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    if (!(name in DEFAULTS) || i + 1 >= argv.length) throw new Error(`bad option ${argv[i]}`);
    options[name] = typeof DEFAULTS[name] === "string" ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!options.port) throw new Error("--port is required");
  if (!(options.mode in MODES)) throw new Error(`unknown mode ${options.mode}`);
  return options;
}

function percentile(sorted, fraction) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

function tally(counts, key) {
  counts[key] = (counts[key] || 0) + 1;
}

// A well-behaved client that reads everything: answers pings, counts "big" broadcasts, and
// matches acks to requests by id, so that no message is lost while a request is pending.
class Reader {
  constructor(client) {
    this.client = client;
    this.nextId = 100;
    this.pending = new Map();
    this.bigReceived = 0;
    this.lastBigAt = null;
    client.onMessage = (buffer, start, length) => this.receive(buffer, start, length);
  }

  receive(buffer, start, length) {
    if (isPing(buffer, start, length)) return this.client.send(PONG);
    if (buffer[start] !== CHAR_4) return;
    if (buffer[start + 1] === CHAR_2) {
      // 42["big",...] among the events; nothing else is broadcast in these scenarios.
      if (buffer.toString("latin1", start + 2, start + 9) === '["big",') {
        this.bigReceived++;
        this.lastBigAt = now();
      }
      return;
    }
    const message = text(buffer, start, Math.min(length, 4096));
    const match = /^43(\d+)/.exec(message);
    if (!match) return;
    const waiter = this.pending.get(Number(match[1]));
    if (!waiter) return;
    this.pending.delete(Number(match[1]));
    waiter(JSON.parse(message.slice(match[0].length)));
  }

  // Sends an event with an ack id; resolves with the ack's arguments (an array), or null after
  // `timeout` seconds.
  request(event, args, timeout = 5) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeout * 1000);
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.client.sendText(`42${id}` + JSON.stringify([event, ...args]));
    });
  }
}

async function modeSlow(options) {
  const runner = runnerLines();
  const slow = await openClients(options, options["slow-clients"]);
  const [good] = await openClients(options, 1);
  const reader = new Reader(good);
  for (const client of slow) {
    const joiner = new Reader(client);
    if ((await joiner.request("join", [])) === null) throw new Error("a join was not acknowledged");
    client.onMessage = () => {};
    client.socket.pause(); // never read again: the kernel buffers fill, then the server's
  }
  if ((await reader.request("join", [])) === null) throw new Error("join not acknowledged");
  const population = (await reader.request("stats", []))[0].sockets;
  await runner.ask("SLOW_BASELINE");

  const start = now();
  const timeline = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const stats = await reader.request("stats", [], 2);
      if (stats) timeline.push({ t: now() - start, ...stats[0] });
      await sleep(0.2);
    }
  })();
  let acked = 0;
  for (let index = 0; index < options.broadcasts; index++) {
    reader.request("blast", [{ n: 1, size: options.size }], 60).then((answer) => {
      if (answer !== null) acked++;
    });
    const next = start + (index + 1) * options.interval;
    await sleep(Math.max(0, next - now()));
  }
  const sentAt = now() - start;
  const drainUntil = now() + options.drain;
  while (reader.bigReceived < options.broadcasts && now() < drainUntil && !good.closed) {
    await sleep(0.05);
  }
  await sleep(0.5); // one more stats reading after the last delivery
  polling = false;
  await poller;
  await runner.ask("SLOW_END");
  runner.close();
  // When the server closed the non-readers: each drop of the connected count, in seconds after
  // the first broadcast request (to the resolution of the stats polling).
  const closedAfter = [];
  let previous = population;
  for (const point of timeline) {
    for (let dropped = point.sockets; dropped < previous; dropped++) closedAfter.push(point.t);
    previous = Math.min(previous, point.sockets);
  }
  for (const client of [...slow, good]) client.socket.destroy();
  return {
    slow_clients: slow.length,
    broadcasts: options.broadcasts,
    size: options.size,
    sent_s: sentAt,
    blasts_acked: acked,
    good_received: reader.bigReceived,
    good_last_delivery_s: reader.lastBigAt === null ? null : reader.lastBigAt - start,
    good_closed: good.closed,
    sockets_before: population,
    sockets_after: timeline.length ? timeline[timeline.length - 1].sockets : null,
    closed_after_s: closedAfter,
    timeline,
  };
}

async function modeFloodWs(options) {
  let completed = 0;
  const failures = {};
  const until = now() + options.duration;
  const worker = async () => {
    while (now() < until) {
      let client;
      try {
        client = await connectClient(options.port, options["connect-timeout"]);
      } catch (error) {
        tally(failures, String(error.message || error).slice(0, 80));
        await sleep(0.01); // a refusing server must not turn this into a busy loop
        continue;
      }
      completed++;
      // Reset rather than close: no TIME_WAIT on either side, however many connections.
      client.socket.resetAndDestroy();
    }
  };
  const started = now();
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsed = now() - started;
  return { completed, elapsed_s: elapsed, rate_per_s: completed / elapsed, failures };
}

// The body of an HTTP/1.1 response whose head ends at `at`: { body, end } or null while it is
// incomplete. Content-Length and chunked bodies (uvicorn's when the app gives no length).
function readBody(buffer, at, head) {
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    const chunks = [];
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", at);
      if (lineEnd < 0) return null;
      const size = parseInt(buffer.toString("latin1", at, lineEnd), 16);
      if (lineEnd + 2 + size + 2 > buffer.length) return null;
      if (size === 0) return { body: chunks.join(""), end: lineEnd + 4 };
      chunks.push(buffer.toString("latin1", lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  const lengthMatch = /\r\ncontent-length: *(\d+)/i.exec(head);
  const length = lengthMatch ? Number(lengthMatch[1]) : 0;
  if (buffer.length < at + length) return null;
  return { body: buffer.toString("latin1", at, at + length), end: at + length };
}

// GETs `target` again and again on one keep-alive connection while `more()` says so (it is
// asked once per request); calls `onResponse(status, head, body)` for each answer, with status 0
// when the connection failed. Reconnects when the server closes.
function httpWorker(port, target, more, onResponse) {
  const request = Buffer.from(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  return new Promise((resolve) => {
    let socket = null;
    let buffer = Buffer.alloc(0);
    let waiting = false;
    let finished = false;
    const next = () => {
      if (finished) return;
      if (!more()) {
        finished = true;
        if (socket) socket.destroy();
        resolve();
        return;
      }
      if (socket === null || socket.destroyed) open();
      waiting = true;
      socket.write(request);
    };
    const open = () => {
      buffer = Buffer.alloc(0);
      const current = (socket = net.connect(port, "127.0.0.1"));
      current.setNoDelay(true);
      current.on("data", (chunk) => {
        buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
        for (;;) {
          const end = buffer.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = buffer.toString("latin1", 0, end);
          const message = readBody(buffer, end + 4, head);
          if (message === null) return;
          const body = message.body;
          buffer = buffer.subarray(message.end);
          waiting = false;
          onResponse(Number(head.slice(9, 12)), head, body);
          if (/\r\nconnection: *close/i.test(head)) return current.destroy(); // "close" goes on
          next();
        }
      });
      current.on("error", () => {}); // "close" follows
      current.on("close", () => {
        if (current !== socket || finished) return;
        if (!waiting) return next();
        waiting = false;
        onResponse(0, "", "");
        setTimeout(next, 10); // a refusing server must not turn this into a busy loop
      });
    };
    next();
  });
}

async function modeFloodPolling(options) {
  let completed = 0;
  const failures = {};
  const until = now() + options.duration;
  const onResponse = (status, head, body) => {
    if (status === 200 && body.startsWith('0{"sid"')) completed++;
    else tally(failures, status ? `HTTP ${status} ${body.slice(0, 60)}` : "connection failed");
  };
  const target = "/socket.io/?EIO=4&transport=polling";
  const started = now();
  const workers = Array.from({ length: options.concurrency }, () =>
    httpWorker(options.port, target, () => now() < until, onResponse),
  );
  await Promise.all(workers);
  const elapsed = now() - started;
  return { completed, elapsed_s: elapsed, rate_per_s: completed / elapsed, failures };
}

async function modeHttp(options) {
  let started = 0;
  let completed = 0;
  let withCookie = 0;
  const failures = {};
  const onResponse = (status, head) => {
    if (status === 200) completed++;
    else tally(failures, status ? `HTTP ${status}` : "connection failed");
    if (/\r\nset-cookie:/i.test(head)) withCookie++;
  };
  const more = () => started++ < options.requests;
  const begin = now();
  await Promise.all(
    Array.from({ length: options.concurrency }, () =>
      httpWorker(options.port, options.path, more, onResponse),
    ),
  );
  const elapsed = now() - begin;
  return {
    path: options.path,
    completed,
    elapsed_s: elapsed,
    rate_per_s: completed / elapsed,
    with_set_cookie: withCookie,
    failures,
  };
}

async function modeProbe(options) {
  const [client] = await openClients(options, 1);
  const reader = new Reader(client);
  const phases = {};
  let phase = "start";
  let running = true;
  const lines = readline.createInterface({ input: process.stdin });
  const stopped = new Promise((resolve) => {
    lines.on("line", (line) => {
      const [command, argument] = line.trim().split(" ");
      if (command === "phase") phase = argument;
      else if (command === "stats") {
        reader.request("stats", [], 10).then((stats) => {
          control("STATS " + JSON.stringify(stats === null ? null : stats[0]));
        });
      } else if (command === "stop") resolve();
    });
    lines.on("close", resolve);
  });
  const loop = (async () => {
    const argument = { seq: 1, text: "hello" };
    while (running && !client.closed) {
      const sentAt = now();
      const sentIn = phase;
      const answer = await reader.request("ack", [argument], 5);
      const latency = (now() - sentAt) * 1000;
      const bucket = (phases[sentIn] ||= { latencies: [], timeouts: 0 });
      bucket.latencies.push(latency);
      if (answer === null) bucket.timeouts++;
      await sleep(Math.max(0, sentAt + options.interval - now()));
    }
  })();
  control("PROBE_READY");
  await stopped;
  running = false;
  await loop;
  lines.close();
  client.socket.destroy();
  const figures = {};
  for (const [name, { latencies, timeouts }] of Object.entries(phases)) {
    const sorted = latencies.sort((a, b) => a - b);
    figures[name] = {
      count: sorted.length,
      timeouts,
      p50_ms: percentile(sorted, 0.5),
      p99_ms: percentile(sorted, 0.99),
      max_ms: sorted[sorted.length - 1],
    };
  }
  return { phases: figures, closed_early: client.closed };
}

const MODES = {
  slow: modeSlow,
  "flood-ws": modeFloodWs,
  "flood-polling": modeFloodPolling,
  probe: modeProbe,
  http: modeHttp,
};

async function main() {
  const options = parseArgs(process.argv);
  const result = await MODES[options.mode](options);
  control("RESULT " + JSON.stringify({ mode: options.mode, ...result }));
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`failed: ${error && error.stack ? error.stack : error}`);
    process.exit(1);
  },
);
