// @socket.io/redis-emitter (with a node-redis client) publishing what test_mixed_cluster.py
// expects, in this order, then exiting:
//
//     node node_emitter.mjs --redis URL --key socket.io
import { createRequire } from "node:module";
import process from "node:process";

const require = createRequire(import.meta.url);
const { Emitter } = require("@socket.io/redis-emitter");
const { createClient } = require("redis");

const option = (name) => process.argv[process.argv.indexOf(`--${name}`) + 1];
const client = createClient({ url: option("redis") });
await client.connect();
const emitter = new Emitter(client, { key: option("key") });

emitter.emit("emitted-all", { from: "node-emitter" });
emitter.to("e-room").emit("emitted-room", Buffer.from([1, 2, 3]));
emitter.except("e-room").emit("emitted-except", 1);
emitter.volatile.emit("emitted-volatile");
emitter.of("/chat").emit("emitted-chat", "hi");
emitter.in("e-room").socketsJoin("e-joined");
emitter.to("e-joined").emit("emitted-joined");
emitter.in("e-joined").socketsLeave("e-joined");
emitter.to("e-joined").emit("emitted-left");
emitter.serverSideEmit("note", "from-node-emitter");
emitter.emit("emitted-fence");
await client.quit();
