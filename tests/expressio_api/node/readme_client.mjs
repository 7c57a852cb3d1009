// The client side of the express.io README example, as client.html does it: connect, emit
// "ready", print the "talk" event's data as {"step": "talk", ...} then {"step": "done"}.
import { io } from "socket.io-client";

const url = process.argv[process.argv.indexOf("--url") + 1];
const socket = io(url, { reconnection: false });
const timer = setTimeout(() => {
  process.stdout.write(JSON.stringify({ step: "done", error: "no talk event" }) + "\n");
  process.exit(1);
}, 5000);
socket.emit("ready");
socket.on("talk", (data) => {
  clearTimeout(timer);
  process.stdout.write(JSON.stringify({ step: "talk", data }) + "\n");
  process.stdout.write(JSON.stringify({ step: "done" }) + "\n");
  socket.disconnect();
});
