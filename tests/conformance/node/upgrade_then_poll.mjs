// The official Engine.IO v4 test "ignores HTTP requests with same sid after upgrade", on the
// client stack that suite runs on: the `ws` package (with its default permessage-deflate,
// which compresses every frame off the main thread, so the "5" may leave after the poll that
// follows it) and fetch.
//
//   node tests/conformance/node/upgrade_then_poll.mjs --url http://127.0.0.1:N [--runs 10]
//
// Prints one JSON line per run, {"step": "run N", "status": S, "echo": "..."} (with "body"
// when S is not 400), then {"step": "done"}. Pings on the websocket are answered and skipped.
import WebSocket from "ws";

const STEP_TIMEOUT_MS = 5000;

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = option("--url");
const runs = Number(option("--runs", "10"));
if (!url) {
  console.error("usage: node upgrade_then_poll.mjs --url http://127.0.0.1:N [--runs 10]");
  process.exit(2);
}
const wsUrl = url.replace(/^http/, "ws");

function waitFor(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), STEP_TIMEOUT_MS);
    socket.once(event, (data) => {
      clearTimeout(timer);
      resolve(data === undefined ? data : data.toString());
    });
  });
}

async function nextMessage(socket) {
  for (;;) {
    const message = await waitFor(socket, "message");
    if (message !== "2") {
      return message;
    }
    socket.send("3");
  }
}

async function upgradeThenPoll() {
  const handshake = await fetch(`${url}/engine.io/?EIO=4&transport=polling`);
  const sid = JSON.parse((await handshake.text()).slice(1)).sid;
  const socket = new WebSocket(`${wsUrl}/engine.io/?EIO=4&transport=websocket&sid=${sid}`);
  await waitFor(socket, "open");
  socket.send("2probe");
  await waitFor(socket, "message"); // "3probe"
  socket.send("5");
  const poll = await fetch(`${url}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
  const body = await poll.text();
  socket.send("4hello");
  const echo = await nextMessage(socket);
  socket.close();
  return poll.status === 400 ? { status: poll.status, echo } : { status: poll.status, body, echo };
}

for (let run = 0; run < runs; run++) {
  try {
    process.stdout.write(JSON.stringify({ step: `run ${run}`, ...(await upgradeThenPoll()) }) + "\n");
  } catch (error) {
    process.stdout.write(JSON.stringify({ step: `run ${run}`, error: String(error) }) + "\n");
  }
}
process.stdout.write(JSON.stringify({ step: "done" }) + "\n");
