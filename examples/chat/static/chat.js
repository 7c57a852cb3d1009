// expressio chat, the browser side: plain JavaScript over the official socket.io client.
"use strict";

const socket = io();
const $ = (id) => document.getElementById(id);
const me = $("me").textContent;

const TYPING_IDLE_MS = 1500; // stop "typing…" after this long without a keystroke
const TYPING_STALE_MS = 5000; // forget someone's "typing…" if their "stopped" never comes
const SHOWN_ROOM_KEY = "expressio-chat:room"; // the room this tab shows, back after a reload

const joined = new Map(); // room -> {messages, members, typing: Map(nickname -> timer), unread}
let counts = {}; // room -> members, for every room on the server
let current = null;

// -- rendering ---------------------------------------------------------------------------

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function clock(at) {
  return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function renderRooms() {
  const list = $("room-list");
  list.replaceChildren();
  const names = new Set([...Object.keys(counts), ...joined.keys()]);
  for (const room of [...names].sort()) {
    const item = element("li");
    item.dataset.room = room;
    item.classList.toggle("joined", joined.has(room));
    item.classList.toggle("active", room === current);
    const button = element("button", "room-button");
    button.type = "button";
    button.append(element("span", "room-name", "#" + room));
    const unread = joined.get(room)?.unread || 0;
    if (unread) button.append(element("span", "badge", String(unread)));
    button.append(element("span", "count", String(counts[room] || 0)));
    button.addEventListener("click", () => (joined.has(room) ? show(room) : join(room)));
    item.append(button);
    list.append(item);
  }
}

function messageItem(message, mine) {
  const item = element("li", mine ? "message mine" : "message");
  const meta = element("div", "meta");
  meta.append(element("span", "author", message.from), element("time", "", clock(message.at)));
  item.append(meta, element("div", "text", message.text));
  if (mine) item.append(element("div", "delivery", message.delivery || "sending…"));
  return item;
}

function renderMessages() {
  const list = $("messages");
  list.replaceChildren();
  const state = joined.get(current);
  if (!state) {
    list.append(element("li", "empty", "Pick a room under Rooms to start talking."));
    return;
  }
  if (!state.messages.length) list.append(element("li", "empty", "No messages yet. Say hi!"));
  for (const message of state.messages) {
    if (message.system) list.append(element("li", "system", message.text));
    else list.append(messageItem(message, message.from === me && message.own));
  }
  list.scrollTop = list.scrollHeight;
}

function renderMembers() {
  const list = $("member-list");
  list.replaceChildren();
  for (const nickname of joined.get(current)?.members || []) {
    const item = element("li", nickname === me ? "member me" : "member", nickname);
    list.append(item);
  }
}

function renderTyping() {
  const names = [...(joined.get(current)?.typing.keys() || [])];
  $("typing").textContent =
    names.length === 0 ? "" : names.length === 1 ? `${names[0]} is typing…`
      : `${names.join(", ")} are typing…`;
}

function renderRoom() {
  $("room-title").textContent = current ? "#" + current : "Pick a room";
  $("leave-button").classList.toggle("concealed", !current);
  for (const control of $("message-form").elements) control.disabled = !current;
  renderRooms();
  renderMessages();
  renderMembers();
  renderTyping();
}

function announce(announcement) {
  const box = $("announcements");
  const banner = element("div", "announcement");
  banner.append(
    element("strong", "", `Announcement from ${announcement.from}`),
    element("span", "", announcement.text),
  );
  const close = element("button", "dismiss", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Dismiss");
  close.addEventListener("click", () => banner.remove());
  banner.append(close);
  box.prepend(banner);
  while (box.children.length > 3) box.lastChild.remove();
}

function setSidebar(open) {
  // Only narrow screens collapse the sidebar (chat.css); wide ones always show it.
  document.body.classList.toggle("sidebar-open", open);
  $("sidebar-toggle").setAttribute("aria-expanded", String(open));
}

// -- actions -----------------------------------------------------------------------------

function setCurrent(room) {
  current = room;
  if (room) sessionStorage.setItem(SHOWN_ROOM_KEY, room);
  else sessionStorage.removeItem(SHOWN_ROOM_KEY);
  const state = joined.get(room);
  if (state) state.unread = 0;
  setSidebar(false);
  renderRoom();
}

function show(room) {
  setCurrent(room);
  $("message-text").focus();
}

function addRoom({ room, history, members }) {
  // The room's history: my own messages (from an earlier page of mine) show as mine.
  const messages = history.map((message) =>
    message.from === me ? { ...message, own: true, delivery: "✓ delivered" } : { ...message, own: false });
  joined.set(room, { messages, members, typing: new Map(), unread: 0 });
}

function join(room) {
  socket.emit("room:join", { room }, (answer) => {
    if (answer.error) return alert(answer.error);
    if (!joined.has(answer.room)) addRoom(answer);
    show(answer.room);
  });
}

function leave(room) {
  socket.emit("room:leave", { room }, () => {
    const state = joined.get(room);
    if (state) for (const timer of state.typing.values()) clearTimeout(timer);
    joined.delete(room);
    setCurrent(joined.keys().next().value || null);
  });
}

let typingTimer = null;
function setTyping(typing) {
  if (!current) return;
  if (typing && !typingTimer) socket.emit("chat:typing", { room: current, typing: true });
  clearTimeout(typingTimer);
  typingTimer = null;
  if (typing) {
    typingTimer = setTimeout(() => setTyping(false), TYPING_IDLE_MS);
  } else {
    socket.emit("chat:typing", { room: current, typing: false });
  }
}

function send(text) {
  const room = current;
  const message = { room, from: me, text, at: Date.now(), own: true };
  // Shown at once; the server's acknowledgement marks it delivered.
  joined.get(room).messages.push(message);
  renderMessages();
  socket.emit("chat:say", { room, text }, (answer) => {
    message.delivery = answer.delivered ? "✓ delivered" : "✗ " + answer.error;
    if (answer.at) message.at = answer.at;
    if (current === room) renderMessages();
  });
}

// -- wiring ------------------------------------------------------------------------------

$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("join-name").value.trim();
  if (name) join(name);
  $("join-name").value = "";
});

$("leave-button").addEventListener("click", () => current && leave(current));

$("sidebar-toggle").addEventListener("click", () =>
  setSidebar(!document.body.classList.contains("sidebar-open")));

$("message-text").addEventListener("input", (event) => setTyping(event.target.value !== ""));

$("message-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message-text").value.trim();
  if (!text || !current) return;
  $("message-text").value = "";
  if (typingTimer) setTyping(false);
  send(text);
});

$("announce-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("announce-text").value.trim();
  if (!text) return;
  socket.emit("announce", { text }, (answer) => {
    if (answer.error) alert(answer.error);
    else $("announce-text").value = "";
  });
});

function setStatus(text, state) {
  $("status").textContent = $("status").title = text;
  $("status").className = "status " + state;
}

socket.on("connect", () => setStatus("connected", "connected"));

socket.on("disconnect", () => setStatus("reconnecting…", "disconnected"));

// On every connection (a reload, a reconnection) the server puts us back in the rooms the
// session has joined, quietly, and says which they are, with their history.
socket.on("rooms:rejoined", (rejoined) => {
  for (const entry of rejoined) if (!joined.has(entry.room)) addRoom(entry);
  // Rooms this page shows that the session has left meanwhile (from another tab): join again.
  const names = new Set(rejoined.map(({ room }) => room));
  for (const room of joined.keys()) if (!names.has(room)) socket.emit("room:join", { room }, () => {});
  if (current && joined.has(current)) return renderRoom();
  const shown = sessionStorage.getItem(SHOWN_ROOM_KEY);
  const room = joined.has(shown) ? shown : joined.keys().next().value;
  if (room) setCurrent(room);
  else renderRoom();
});

socket.on("rooms", (roomCounts) => {
  counts = roomCounts;
  renderRooms();
});

socket.on("room:members", ({ room, members }) => {
  const state = joined.get(room);
  if (!state) return;
  const before = new Set(state.members);
  if (before.size) {
    for (const name of members) if (!before.has(name)) state.messages.push({ system: true, text: `${name} joined` });
    for (const name of before) if (!members.includes(name)) state.messages.push({ system: true, text: `${name} left` });
  }
  state.members = members;
  if (room === current) {
    renderMessages();
    renderMembers();
  }
});

socket.on("chat:message", (message) => {
  const state = joined.get(message.room);
  if (!state) return;
  state.messages.push({ ...message, own: false });
  clearTimeout(state.typing.get(message.from));
  state.typing.delete(message.from);
  if (message.room === current) {
    renderMessages();
    renderTyping();
  } else {
    state.unread += 1;
    renderRooms();
  }
});

socket.on("chat:typing", ({ room, nickname, typing }) => {
  const state = joined.get(room);
  if (!state) return;
  clearTimeout(state.typing.get(nickname));
  if (typing) {
    state.typing.set(nickname, setTimeout(() => {
      state.typing.delete(nickname);
      if (room === current) renderTyping();
    }, TYPING_STALE_MS));
  } else {
    state.typing.delete(nickname);
  }
  if (room === current) renderTyping();
});

socket.on("announcement", announce);

renderRoom();
