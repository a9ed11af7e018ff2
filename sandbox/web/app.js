// ipdesk sandbox web chat. Plain JS, no build step, nothing fetched from elsewhere.
//
// The page rebuilds every chat from the stand-in's event log (a WebSocket replays it from 0
// and then streams it), and acts as people through the control API (/sandbox/api/...).
// Everything shown is built with DOM nodes and textContent: a message's formatting comes from
// its Telegram entities, never from HTML, so nothing anyone typed can become markup.
"use strict";

const API = "/sandbox/api";
const LANGUAGES = [
  ["", "no language"],
  ["kk", "kk Қазақша"],
  ["ru", "ru Русский"],
  ["ko", "ko 한국어"],
  ["en", "en English"],
  ["de", "de Deutsch"],
  ["tr", "tr Türkçe"],
  ["zh", "zh 中文"],
];
const SAFE_PROTOCOLS = new Set(["http:", "https:", "mailto:", "tel:"]);
const MEDIA_KINDS = ["photo", "video", "animation", "document", "audio", "voice", "sticker",
  "video_note", "location", "contact", "venue", "dice", "poll"];
const TYPING_MS = 5000;

// -- the world, as the events tell it ------------------------------------------------------

const S = {
  instance: null,
  state: null,
  last: 0,
  chats: new Map(), // chat id -> Map(message id -> message)
  reactions: new Map(), // "chat:message" -> [reaction]
  answers: new Map(), // callback query id -> callback answer event (recent, live only)
  pending: new Map(), // callback query id -> pane that pressed
  typing: new Map(), // "chat:thread" -> {action, until}
  tab: "user",
};

function chatMessages(chatId) {
  let chat = S.chats.get(chatId);
  if (!chat) {
    chat = new Map();
    S.chats.set(chatId, chat);
  }
  return chat;
}

function applyEvent(event, live) {
  const message = event.message;
  switch (event.kind) {
    case "message":
    case "edit":
      chatMessages(event.chat_id).set(message.message_id, message);
      if (event.kind === "message" && event.from_bot) {
        S.typing.delete(`${event.chat_id}:${event.thread_id ?? ""}`);
      }
      break;
    case "delete":
      chatMessages(event.chat_id).delete(message.message_id);
      break;
    case "reaction":
      S.reactions.set(`${event.chat_id}:${message.message_id}`, event.reaction || []);
      break;
    case "callback_answer":
      if (live) {
        S.answers.set(event.callback_query_id, event);
        setTimeout(() => S.answers.delete(event.callback_query_id), 30000);
        const pane = S.pending.get(event.callback_query_id);
        if (pane) {
          S.pending.delete(event.callback_query_id);
          pane.showAnswer(event);
        }
      }
      break;
    case "chat_action":
      if (live) {
        S.typing.set(`${event.chat_id}:${event.thread_id ?? ""}`,
          { action: event.action, until: Date.now() + TYPING_MS });
        setTimeout(scheduleRender, TYPING_MS + 50);
      }
      break;
    default:
      break;
  }
}

function resetWorld(instance) {
  S.instance = instance;
  S.last = 0;
  S.chats.clear();
  S.reactions.clear();
  S.answers.clear();
  S.pending.clear();
  S.typing.clear();
}

// -- people and chats ----------------------------------------------------------------------

function users() { return S.state ? S.state.users : []; }
function userById(id) { return users().find((u) => u.id === id); }
function botIds() { return new Set((S.state ? S.state.bots : []).map((b) => b.id)); }
function groups() { return S.state ? S.state.chats.filter((c) => c.type !== "private") : []; }
function groupById(id) { return groups().find((c) => c.id === id); }
function fullName(user) {
  if (!user) return "?";
  return user.last_name ? `${user.first_name} ${user.last_name}` : user.first_name;
}
function presentMembers(chat) {
  const bots = botIds();
  return (chat ? chat.members : [])
    .filter((m) => !bots.has(m.user_id) && ["creator", "administrator", "member", "restricted"].includes(m.status));
}
function adminsOfGroups() {
  const ids = new Set();
  for (const chat of groups()) {
    for (const m of presentMembers(chat)) {
      if (m.status === "creator" || m.status === "administrator") ids.add(m.user_id);
    }
  }
  return ids;
}

// -- reading marks (unread counts) ---------------------------------------------------------

function readKey(chatId, thread) { return `ipdesk-read:${S.instance}:${chatId}:${thread ?? "-"}`; }
function lastRead(chatId, thread) { return Number(localStorage.getItem(readKey(chatId, thread)) || 0); }
function isService(m) {
  return Object.keys(m).some((k) => /^(forum_topic_|new_chat_|left_chat_|pinned_message|migrate_|general_forum_topic_)/.test(k));
}
function threadOf(m) { return m.message_thread_id ?? null; }
function viewMessages(chatId, thread) {
  const all = [...chatMessages(chatId).values()];
  const filtered = thread === undefined ? all : all.filter((m) => threadOf(m) === thread);
  return filtered.sort((a, b) => a.message_id - b.message_id);
}
function unread(chatId, thread, viewer) {
  const mark = lastRead(chatId, thread);
  return viewMessages(chatId, thread)
    .filter((m) => m.message_id > mark && !isService(m) && (!m.from || m.from.id !== viewer)).length;
}
function markRead(chatId, thread) {
  const messages = viewMessages(chatId, thread);
  if (!messages.length) return;
  const top = messages[messages.length - 1].message_id;
  if (top > lastRead(chatId, thread)) localStorage.setItem(readKey(chatId, thread), String(top));
}

// -- text with Telegram entities -----------------------------------------------------------

function safeHref(raw, assumeWeb) {
  let value = raw;
  if (assumeWeb && !/^[a-z][a-z0-9+.-]*:/i.test(value)) value = `http://${value}`;
  try {
    const url = new URL(value);
    return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function entityNodes(entity, text, pane) {
  let el;
  switch (entity.type) {
    case "bold": el = document.createElement("b"); break;
    case "italic": el = document.createElement("i"); break;
    case "underline": el = document.createElement("u"); break;
    case "strikethrough": el = document.createElement("s"); break;
    case "code": el = document.createElement("code"); break;
    case "pre": {
      const pre = document.createElement("pre");
      const code = document.createElement("code");
      if (entity.language) code.dataset.language = entity.language;
      pre.append(code);
      return [pre, code];
    }
    case "spoiler":
      el = document.createElement("span");
      el.className = "spoiler";
      el.title = "Spoiler: click to show";
      el.addEventListener("click", () => el.classList.toggle("revealed"));
      break;
    case "blockquote":
    case "expandable_blockquote":
      el = document.createElement("blockquote");
      if (entity.type === "expandable_blockquote") {
        el.className = "expandable";
        el.addEventListener("click", () => el.classList.toggle("open"));
      }
      break;
    case "text_link":
    case "url":
    case "email":
    case "phone_number": {
      const href = entity.type === "text_link" ? safeHref(entity.url, false)
        : entity.type === "url" ? safeHref(text, true)
          : entity.type === "email" ? safeHref(`mailto:${text}`, false)
            : safeHref(`tel:${text.replace(/[^\d+]/g, "")}`, false);
      if (href) {
        el = document.createElement("a");
        el.href = href;
        el.target = "_blank";
        el.rel = "noopener noreferrer";
      } else {
        el = document.createElement("span");
      }
      if (entity.type === "text_link") el.title = entity.url;
      break;
    }
    case "mention":
    case "text_mention":
    case "hashtag":
    case "cashtag":
      el = document.createElement("span");
      el.className = entity.type === "mention" || entity.type === "text_mention" ? "mention" : "hashtag";
      if (entity.user) el.title = fullName(entity.user);
      break;
    case "bot_command":
      el = document.createElement("span");
      el.className = "command";
      el.title = "Send this command";
      el.addEventListener("click", () => pane && pane.sendText(text));
      break;
    default:
      el = document.createElement("span");
      el.className = entity.type;
  }
  return [el, el];
}

// Entities use UTF-16 offsets, as JavaScript strings do. Nested entities become nested nodes.
function renderEntities(text, entities, pane) {
  const sorted = (entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
  const fragment = document.createDocumentFragment();
  build(fragment, text, sorted, 0, text.length, pane);
  return fragment;
}

function build(parent, text, list, start, end, pane) {
  let pos = start;
  let i = 0;
  while (i < list.length) {
    const entity = list[i];
    const from = Math.max(entity.offset, pos);
    const to = Math.min(entity.offset + entity.length, end);
    let j = i + 1;
    while (j < list.length && list[j].offset < to) j += 1;
    if (to > from) {
      if (from > pos) parent.append(text.slice(pos, from));
      const [outer, inner] = entityNodes(entity, text.slice(from, to), pane);
      build(inner, text, list.slice(i + 1, j), from, to, pane);
      parent.append(outer);
      pos = to;
    }
    i = j;
  }
  if (pos < end) parent.append(text.slice(pos, end));
}

// -- small DOM helpers ---------------------------------------------------------------------

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

function fileUrl(fileId) { return `${API}/files/${encodeURIComponent(fileId)}`; }
function humanSize(bytes) {
  if (bytes === undefined) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
function clock(seconds) {
  const d = new Date(seconds * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}
function colorOf(id) {
  const colors = ["#c0392b", "#d35400", "#8e44ad", "#16a085", "#2980b9", "#b7950b", "#27ae60"];
  return colors[Math.abs(Number(id)) % colors.length];
}

function snippet(m) {
  if (!m) return "";
  if (m.text) return m.text;
  const kind = MEDIA_KINDS.find((k) => k in m);
  let label;
  switch (kind) {
    case "photo": label = "🖼 Photo"; break;
    case "document": label = `📄 ${m.document.file_name || "File"}`; break;
    case "video": label = "🎬 Video"; break;
    case "voice": label = "🎤 Voice message"; break;
    case "audio": label = "🎵 Audio"; break;
    case "sticker": label = `${m.sticker.emoji || ""} Sticker`; break;
    case "location": label = "📍 Location"; break;
    case "contact": label = "👤 Contact"; break;
    case undefined: label = serviceText(m) || "message"; break;
    default: label = kind;
  }
  return m.caption ? `${label}, ${m.caption}` : label;
}

function serviceText(m) {
  const who = m.from ? fullName(m.from) : "";
  if (m.forum_topic_created) return `Topic “${m.forum_topic_created.name}” created`;
  if (m.forum_topic_edited) {
    return m.forum_topic_edited.name ? `Topic renamed to “${m.forum_topic_edited.name}”` : "Topic icon changed";
  }
  if (m.forum_topic_closed) return `${who} closed the topic`;
  if (m.forum_topic_reopened) return `${who} reopened the topic`;
  if (m.pinned_message) return `${who} pinned “${snippet(m.pinned_message).slice(0, 60)}”`;
  if (m.new_chat_members) return `${m.new_chat_members.map(fullName).join(", ")} joined`;
  if (m.left_chat_member) return `${fullName(m.left_chat_member)} left`;
  if (m.migrate_to_chat_id) return `The group was upgraded to a supergroup (${m.migrate_to_chat_id})`;
  if (m.migrate_from_chat_id) return `Upgraded from the group ${m.migrate_from_chat_id}`;
  const key = Object.keys(m).find((k) => /^(general_forum_topic_)/.test(k));
  return key ? key.replace(/_/g, " ") : "";
}

// -- a chat view: one private chat, or one topic of a group -------------------------------

class ChatView {
  constructor(pane, root) {
    this.pane = pane;
    this.root = root;
    this.messages = root.querySelector(".messages");
    this.title = root.querySelector(".title");
    this.sub = root.querySelector(".sub");
    this.toastEl = root.querySelector(".toast");
    this.alertEl = root.querySelector(".alert");
    this.commandsEl = root.querySelector(".commands");
    this.replyBar = root.querySelector(".reply-bar");
    this.attachBar = root.querySelector(".attach-bar");
    this.form = root.querySelector(".composer");
    this.input = root.querySelector("textarea");
    this.fileInput = root.querySelector("input[type=file]");
    this.asFile = root.querySelector(".as-file");
    this.replyTo = null;
    this.editing = null;
    this.files = [];
    this.wire();
  }

  wire() {
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
      if (e.key === "Escape") this.cancelModes();
    });
    this.input.addEventListener("input", () => this.autosize());
    this.root.querySelector(".attach").addEventListener("click", () => this.fileInput.click());
    this.fileInput.addEventListener("change", () => {
      this.files = [...this.fileInput.files].slice(0, 10);
      this.fileInput.value = "";
      this.showAttachments();
    });
    this.attachBar.querySelector("button").addEventListener("click", () => { this.files = []; this.showAttachments(); });
    this.replyBar.querySelector("button").addEventListener("click", () => this.cancelModes());
    this.alertEl.querySelector("button").addEventListener("click", () => { this.alertEl.hidden = true; });
    this.root.querySelector(".menu").addEventListener("click", () => this.toggleCommands());
    this.root.querySelector(".back").addEventListener("click", () => this.pane.back());
  }

  autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight + 2, 128)}px`;
  }

  showAttachments() {
    this.attachBar.hidden = this.files.length === 0;
    const names = this.files.map((f) => f.name).join(", ");
    this.attachBar.querySelector(".files").textContent =
      `${this.files.length === 1 ? "1 file" : `${this.files.length} files`}: ${names}`;
    this.input.placeholder = this.files.length ? "Caption" : "Message";
  }

  cancelModes() {
    this.replyTo = null;
    if (this.editing) this.input.value = "";
    this.editing = null;
    this.replyBar.hidden = true;
  }

  startReply(m) {
    this.editing = null;
    this.replyTo = m.message_id;
    this.replyBar.hidden = false;
    this.replyBar.querySelector("span").textContent = `Reply to ${m.from ? fullName(m.from) : ""}: ${snippet(m)}`;
    this.input.focus();
  }

  startEdit(m) {
    this.replyTo = null;
    this.editing = m.message_id;
    this.replyBar.hidden = false;
    this.replyBar.querySelector("span").textContent = `Editing: ${snippet(m)}`;
    this.input.value = m.text;
    this.autosize();
    this.input.focus();
  }

  target() {
    const where = { user_id: this.pane.actor };
    if (this.pane.chatId < 0) where.chat_id = this.pane.chatId;
    if (this.pane.thread) where.thread_id = this.pane.thread;
    return where;
  }

  async submit() {
    if (!this.pane.actor) { this.toast("Choose who you are first", true); return; }
    const text = this.input.value;
    try {
      if (this.files.length) {
        const form = new FormData();
        for (const [key, value] of Object.entries(this.target())) form.append(key, String(value));
        if (text.trim()) form.append("caption", text);
        form.append("as", this.asFile.checked ? "document" : "auto");
        for (const file of this.files) form.append("file", file, file.name);
        this.files = [];
        this.showAttachments();
        this.input.value = "";
        await call("POST", "upload", form);
      } else if (this.editing) {
        const body = { user_id: this.pane.actor, chat_id: this.pane.chatId, message_id: this.editing, text };
        this.cancelModes();
        this.input.value = "";
        await call("POST", "edit", body);
      } else if (text.trim()) {
        this.input.value = "";
        await this.sendText(text);
      }
    } catch (error) {
      this.toast(error.message, true);
    }
    this.autosize();
  }

  async sendText(text) {
    const body = { ...this.target(), text };
    if (this.replyTo) body.reply_to_message_id = this.replyTo;
    this.cancelModes();
    this.commandsEl.hidden = true;
    try {
      await call("POST", "send", body);
    } catch (error) {
      this.toast(error.message, true);
    }
  }

  async toggleCommands() {
    if (!this.commandsEl.hidden) { this.commandsEl.hidden = true; return; }
    const query = new URLSearchParams({ user_id: this.pane.actor || 0 });
    if (this.pane.chatId < 0) query.set("chat_id", this.pane.chatId);
    let commands = [];
    try { commands = await call("GET", `commands?${query}`); } catch (error) { this.toast(error.message, true); return; }
    this.commandsEl.replaceChildren(...(commands.length ? commands.map((c) => h("button", {
      type: "button", onclick: () => this.sendText(`/${c.command}`),
    }, h("b", {}, `/${c.command}`), c.description)) : [h("div", { class: "empty" }, "The bot set no commands here.")]));
    this.commandsEl.hidden = false;
  }

  async press(m, button, el) {
    el.classList.add("pressed");
    try {
      const query = await call("POST", "press", {
        user_id: this.pane.actor, chat_id: this.pane.chatId, message_id: m.message_id,
        callback_data: button.callback_data,
      });
      const answered = S.answers.get(query.id);
      if (answered) this.showAnswer(answered); else S.pending.set(query.id, this);
    } catch (error) {
      this.toast(error.message, true);
    } finally {
      setTimeout(() => el.classList.remove("pressed"), 400);
    }
  }

  showAnswer(event) {
    if (!event.text) return;
    if (event.show_alert) {
      this.alertEl.querySelector("p").textContent = event.text;
      this.alertEl.hidden = false;
    } else {
      this.toast(event.text);
    }
  }

  toast(text, error) {
    this.toastEl.textContent = text;
    this.toastEl.classList.toggle("error", Boolean(error));
    this.toastEl.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toastEl.hidden = true; }, error ? 5000 : 2500);
  }

  // -- drawing ------------------------------------------------------------------------------

  render(title, subtitle, list, isGroup) {
    this.title.textContent = title;
    const typing = S.typing.get(`${this.pane.chatId}:${this.pane.thread ?? ""}`);
    const isTyping = typing && typing.until > Date.now();
    this.sub.textContent = isTyping ? `${typing.action.replace(/_/g, " ")}…` : subtitle;
    this.sub.classList.toggle("typing", Boolean(isTyping));
    const box = this.messages;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const scroll = box.scrollTop;
    const nodes = [];
    const cache = new Map();
    for (let i = 0; i < list.length; i += 1) {
      const m = list[i];
      const items = [m];
      while (m.media_group_id && i + 1 < list.length && list[i + 1].media_group_id === m.media_group_id) {
        items.push(list[(i += 1)]);
      }
      // A message is drawn again only when it, its reactions or the viewer changed.
      const reactions = items.map((item) => S.reactions.get(`${this.pane.chatId}:${item.message_id}`));
      const key = JSON.stringify([items, reactions, this.pane.actor, isGroup]);
      let node = this.cache && this.cache.get(key);
      if (!node) {
        node = isService(m) ? h("div", { class: "service", dataset: { id: m.message_id } }, serviceText(m))
          : this.bubble(items, isGroup);
      }
      cache.set(key, node);
      nodes.push(node);
    }
    this.cache = cache;
    if (!nodes.length) nodes.push(h("div", { class: "empty" }, this.pane.emptyText()));
    box.replaceChildren(...nodes);
    box.scrollTop = atBottom ? box.scrollHeight : scroll;
  }

  bubble(items, isGroup) {
    const m = items[0];
    const mine = Boolean(m.from && m.from.id === this.pane.actor);
    const bubble = h("div", { class: "bubble" });
    if (isGroup && !mine && m.from) {
      bubble.append(h("div", { class: "sender", style: `color:${colorOf(m.from.id)}` }, fullName(m.from)));
    }
    if (m.forward_origin) {
      const origin = m.forward_origin;
      const name = origin.sender_user ? fullName(origin.sender_user)
        : origin.sender_chat ? origin.sender_chat.title : origin.sender_user_name || "";
      bubble.append(h("div", { class: "forwarded" }, `Forwarded from ${name}`));
    }
    const reply = m.reply_to_message;
    if (reply && !(m.is_topic_message && reply.message_id === m.message_thread_id)) {
      bubble.append(h("div", { class: "quote", onclick: () => this.flash(reply.message_id) },
        h("b", {}, reply.from ? fullName(reply.from) : ""), h("span", {}, snippet(reply))));
    }
    const media = items.map((item) => this.media(item)).filter(Boolean);
    if (media.length) bubble.append(h("div", { class: `media n${media.length}` }, media));
    const captioned = items.find((item) => item.caption);
    const body = m.text !== undefined ? [m.text, m.entities]
      : captioned ? [captioned.caption, captioned.caption_entities] : null;
    const meta = h("span", { class: "meta" }, `${m.edit_date ? "edited " : ""}${clock(m.date)}`);
    if (body) {
      bubble.append(h("div", { class: "text", dir: "auto" }, renderEntities(body[0], body[1], this), meta));
    } else {
      bubble.append(h("div", { class: "text" }, meta));
    }
    const reactions = items.flatMap((item) => S.reactions.get(`${this.pane.chatId}:${item.message_id}`) || []);
    if (reactions.length) {
      bubble.append(h("div", { class: "reactions" }, reactions.map((r) =>
        h("span", { class: "reaction", title: "The bot's reaction" }, r.emoji || (r.type === "paid" ? "⭐" : "★")))));
    }
    const wrap = h("div", {
      class: `msg ${mine ? "out" : "in"}`,
      dataset: { id: m.message_id, ids: items.map((i) => i.message_id).join(" "), from: m.from ? m.from.id : "" },
    }, bubble);
    const keyboard = m.reply_markup && m.reply_markup.inline_keyboard;
    if (keyboard) wrap.append(this.keyboard(m, keyboard));
    const actions = [h("button", { type: "button", title: "Reply", onclick: () => this.startReply(m) }, "↩")];
    if (mine && m.text !== undefined && items.length === 1) {
      actions.push(h("button", { type: "button", title: "Edit", onclick: () => this.startEdit(m) }, "✎"));
    }
    wrap.append(h("div", { class: "actions" }, actions));
    return wrap;
  }

  media(m) {
    if (m.photo) {
      const size = m.photo[m.photo.length - 1];
      const url = fileUrl(size.file_id);
      return h("img", {
        src: url, alt: m.caption || "photo", loading: "lazy", width: size.width, height: size.height,
        onclick: () => window.open(url, "_blank", "noopener"),
      });
    }
    if (m.sticker) return h("div", { class: "sticker" }, m.sticker.emoji || "🖼");
    const kinds = { document: "📄", video: "🎬", animation: "🎞", audio: "🎵", voice: "🎤", video_note: "⏺" };
    const kind = Object.keys(kinds).find((k) => k in m);
    if (kind) {
      const file = m[kind];
      return h("a", { class: "file", href: fileUrl(file.file_id), download: file.file_name || kind },
        h("span", { class: "icon" }, kinds[kind]),
        h("span", {}, h("div", { class: "fname" }, file.file_name || kind),
          h("div", { class: "fsize" }, [humanSize(file.file_size), file.mime_type].filter(Boolean).join(" · "))));
    }
    if (m.location) return h("div", { class: "file" }, h("span", { class: "icon" }, "📍"), `${m.location.latitude}, ${m.location.longitude}`);
    if (m.contact) return h("div", { class: "file" }, h("span", { class: "icon" }, "👤"), `${m.contact.first_name} ${m.contact.phone_number}`);
    if (m.dice) return h("div", { class: "sticker" }, `${m.dice.emoji}${m.dice.value}`);
    return null;
  }

  keyboard(m, rows) {
    return h("div", { class: "kb" }, rows.map((row) => h("div", { class: "row" }, row.map((button) => {
      if (button.callback_data !== undefined) {
        const el = h("button", { type: "button", dataset: { callback: button.callback_data } }, button.text);
        el.addEventListener("click", () => this.press(m, button, el));
        return el;
      }
      const href = button.url ? safeHref(button.url, false) : null;
      if (href) return h("a", { href, target: "_blank", rel: "noopener noreferrer", title: button.url }, `${button.text} ↗`);
      if (button.copy_text) {
        return h("button", { type: "button", onclick: () => navigator.clipboard.writeText(button.copy_text.text) }, button.text);
      }
      return h("button", { type: "button", disabled: true, title: "Not available in the sandbox" }, button.text);
    }))));
  }

  flash(messageId) {
    const el = [...this.messages.querySelectorAll(".msg")].find((n) => n.dataset.ids.split(" ").includes(String(messageId)));
    if (!el) return;
    el.scrollIntoView({ block: "center" });
    el.classList.add("flash");
    setTimeout(() => el.classList.remove("flash"), 1200);
  }
}

// -- the three panes -----------------------------------------------------------------------

class Pane {
  constructor(name) {
    this.name = name;
    this.el = document.querySelector(`[data-pane=${name}]`);
    this.actorSelect = this.el.querySelector("select.actor");
    this.actor = null;
    this.thread = null;
    this.actorSelect.addEventListener("change", () => {
      this.actor = Number(this.actorSelect.value) || null;
      this.chosen = this.actor;
      scheduleRender();
    });
  }

  mountChat(parent) {
    const root = document.getElementById("chat-template").content.firstElementChild.cloneNode(true);
    parent.append(root);
    this.view = new ChatView(this, root);
  }

  get chatId() { return this.actor; }

  back() {}

  visible() {
    return document.visibilityState === "visible" && (S.tab === this.name || window.innerWidth >= 1000);
  }

  fillActors(candidates, fallback) {
    const ids = candidates.map((u) => u.id);
    if (!ids.includes(this.actor)) this.actor = ids.includes(this.chosen) ? this.chosen : fallback(ids);
    const options = candidates.map((u) => {
      const count = this.unreadFor(u);
      return h("option", { value: u.id, selected: u.id === this.actor },
        `${fullName(u)}${u.language_code ? ` (${u.language_code})` : ""}${count ? ` · ${count}` : ""}`);
    });
    if (!options.length) options.push(h("option", { value: "" }, "nobody yet"));
    this.actorSelect.replaceChildren(...options);
  }

  unreadFor(user) { return user.id === this.actor ? 0 : unread(user.id, null, user.id); }

  tabBadge() { return this.actor ? unread(this.actor, null, this.actor) : 0; }
}

class PersonPane extends Pane {
  constructor() {
    super("user");
    this.mountChat(this.el);
    this.langSelect = this.el.querySelector("select.lang");
    this.form = this.el.querySelector(".person-form");
    fillLanguages(this.langSelect);
    fillLanguages(this.form.querySelector("select[name=lang]"), "en");
    this.langSelect.addEventListener("change", async () => {
      try {
        await call("PATCH", `users/${this.actor}`, { language_code: this.langSelect.value });
      } catch (error) { this.view.toast(error.message, true); }
    });
    this.el.querySelector(".new-person").addEventListener("click", () => {
      this.form.hidden = !this.form.hidden;
      if (!this.form.hidden) this.form.querySelector("input").focus();
    });
    this.form.querySelector(".cancel").addEventListener("click", () => { this.form.hidden = true; });
    this.form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const name = this.form.elements.name.value.trim();
      if (!name) return;
      try {
        const user = await call("POST", "users", { first_name: name, language_code: this.form.elements.lang.value });
        this.chosen = this.actor = user.id;
        this.form.reset();
        this.form.hidden = true;
        await refreshState();
      } catch (error) { this.view.toast(error.message, true); }
    });
  }

  emptyText() { return "Say hello: send /start"; }

  render() {
    const admins = adminsOfGroups();
    const people = users();
    this.fillActors(people, (ids) => ids.find((id) => !admins.has(id)) ?? ids[0] ?? null);
    const user = userById(this.actor);
    this.langSelect.value = user ? user.language_code || "" : "";
    const bot = S.state && S.state.bots[0];
    const title = bot ? fullName(bot) : "no bot yet";
    const subtitle = bot ? `@${bot.username} · bot` : "";
    this.view.render(title, subtitle, this.actor ? viewMessages(this.actor) : [], false);
    if (this.actor && this.visible()) markRead(this.actor, null);
  }
}

class AdminPane extends Pane {
  constructor() {
    super("admin");
    this.mountChat(this.el);
    this.inspector = h("details", { class: "inspector" }, h("summary", {}, "Bot API log"), h("div", { class: "log" }));
    this.inspector.addEventListener("toggle", () => this.inspect());
    this.el.append(this.inspector);
    setInterval(() => { if (this.inspector.open) this.inspect(); }, 2000);
  }

  emptyText() { return "Admin commands work here: send /start or press /"; }

  render() {
    const admins = adminsOfGroups();
    const people = users();
    const candidates = people.filter((u) => admins.has(u.id));
    this.fillActors(candidates.length ? candidates : people, (ids) => ids[0] ?? null);
    const bot = S.state && S.state.bots[0];
    const who = userById(this.actor);
    this.view.render(bot ? fullName(bot) : "no bot yet", who ? `as ${fullName(who)}` : "",
      this.actor ? viewMessages(this.actor) : [], false);
    if (this.actor && this.visible()) markRead(this.actor, null);
  }

  async inspect() {
    if (!this.inspector.open) return;
    let report;
    try { report = await call("GET", "inspect"); } catch { return; }
    const rows = report.recent.slice().reverse().map((r) => h("tr", { class: r.ok ? "" : "bad" },
      h("td", {}, new Date(r.at * 1000).toTimeString().slice(0, 8)), h("td", {}, r.method),
      h("td", {}, r.chat_id === null || r.chat_id === undefined ? "" : String(r.chat_id)),
      h("td", {}, r.ok ? "ok" : `${r.error}${r.fault ? ` (${r.fault})` : ""}`)));
    const violations = report.violations.map((v) => h("div", { class: "bad" }, v));
    this.inspector.querySelector("summary").textContent =
      `Bot API log: ${report.requests} calls, ${report.failed} failed, ${report.violations.length} spec violations`;
    this.inspector.querySelector(".log").replaceChildren(...violations, h("table", {}, rows));
  }
}

class StaffPane extends Pane {
  constructor() {
    super("staff");
    this.groupSelect = this.el.querySelector("select.group");
    this.area = h("div", { class: "chat-area list-mode" });
    this.topicsEl = h("aside", { class: "topics", "aria-label": "Topics" });
    this.area.append(this.topicsEl);
    this.el.append(this.area);
    this.mountChat(this.area);
    this.groupId = null;
    this.thread = null;
    this.listMode = true;
    this.groupSelect.addEventListener("change", () => {
      this.groupId = Number(this.groupSelect.value) || null;
      this.thread = null;
      this.listMode = true;
      scheduleRender();
    });
    this.memberForm = this.el.querySelector(".member-form");
    this.el.querySelector(".add-member").addEventListener("click", () => {
      this.memberForm.hidden = !this.memberForm.hidden;
    });
    this.memberForm.querySelector(".cancel").addEventListener("click", () => { this.memberForm.hidden = true; });
    this.memberForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      const userId = Number(this.memberForm.elements.user.value);
      if (!userId || !this.groupId) return;
      try {
        await call("POST", "members", { chat_id: this.groupId, user_id: userId, status: this.memberForm.elements.status.value });
        this.chosen = this.actor = userId;
        this.memberForm.hidden = true;
        await refreshState();
      } catch (error) { this.view.toast(error.message, true); }
    });
  }

  get chatId() { return this.groupId; }

  back() { this.listMode = true; scheduleRender(); }

  emptyText() { return this.thread ? "No messages in this topic yet" : "No messages yet"; }

  unreadFor() { return 0; }

  threads() {
    const chat = groupById(this.groupId);
    if (!chat) return [];
    const lastIn = (thread) => {
      const list = viewMessages(this.groupId, thread);
      return list.length ? list[list.length - 1] : null;
    };
    const topics = chat.topics.map((t) => ({ id: t.message_thread_id, name: t.name, closed: t.closed, last: lastIn(t.message_thread_id) }));
    topics.sort((a, b) => (b.last ? b.last.message_id : 0) - (a.last ? a.last.message_id : 0));
    const general = { id: null, name: chat.is_forum ? "General" : chat.title, last: lastIn(null) };
    return [general, ...topics];
  }

  tabBadge() {
    return this.threads().reduce((sum, t) => sum + unread(this.groupId, t.id, this.actor), 0);
  }

  render() {
    const all = groups();
    if (!all.some((c) => c.id === this.groupId)) {
      const forum = all.find((c) => c.is_forum) || all[0];
      this.groupId = forum ? forum.id : null;
    }
    this.groupSelect.replaceChildren(...(all.length ? all.map((c) => h("option", { value: c.id, selected: c.id === this.groupId }, c.title))
      : [h("option", { value: "" }, "no groups")]));
    const chat = groupById(this.groupId);
    const members = presentMembers(chat).map((m) => userById(m.user_id)).filter(Boolean);
    const admins = new Set(presentMembers(chat).filter((m) => m.status !== "member" && m.status !== "restricted").map((m) => m.user_id));
    this.fillActors(members, (ids) => ids.find((id) => admins.has(id)) ?? ids[0] ?? null);
    const memberIds = new Set(members.map((u) => u.id));
    this.memberForm.elements.user.replaceChildren(...users().filter((u) => !memberIds.has(u.id))
      .map((u) => h("option", { value: u.id }, fullName(u))));

    const threads = this.threads();
    if (!threads.some((t) => t.id === this.thread)) this.thread = null;
    this.area.classList.toggle("list-mode", this.listMode);
    // The open thread is read when it is on screen (beside the list, or alone on a phone).
    if (chat && this.visible() && this.view.root.offsetParent !== null) markRead(this.groupId, this.thread);
    this.topicsEl.replaceChildren(...threads.map((t) => {
      const count = unread(this.groupId, t.id, this.actor);
      return h("button", {
        type: "button", class: `topic${t.id === this.thread ? " active" : ""}`, dataset: { thread: t.id ?? "" },
        onclick: () => { this.thread = t.id; this.listMode = false; scheduleRender(); },
      }, h("span", { class: "name" }, `${t.closed ? "🔒 " : ""}${t.name}`),
      h("span", { class: "badge", hidden: !count }, String(count)),
      h("span", { class: "last" }, t.last ? `${t.last.from ? `${fullName(t.last.from)}: ` : ""}${snippet(t.last)}` : ""));
    }));
    const current = threads.find((t) => t.id === this.thread);
    const title = chat ? (this.thread ? current.name : threads[0].name) : "no staff group";
    const count = presentMembers(chat).length;
    const subtitle = chat ? `${chat.title} · ${count === 1 ? "1 person" : `${count} people`}` : "";
    this.view.render(title, subtitle, chat ? viewMessages(this.groupId, chat.is_forum ? this.thread : undefined) : [], true);
  }
}

function fillLanguages(select, value) {
  select.replaceChildren(...LANGUAGES.map(([code, label]) => h("option", { value: code }, label)));
  if (value !== undefined) select.value = value;
}

// -- talking to the stand-in ---------------------------------------------------------------

async function call(verb, path, body) {
  const init = { method: verb, headers: {} };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(`${API}/${path}`, init);
  const data = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
  if (!data.ok) throw new Error(data.error || "the stand-in refused");
  return data.result;
}

async function refreshState() {
  setState(await call("GET", "state"));
}

function setState(state) {
  S.state = state;
  scheduleRender();
}

let socket = null;
function connect() {
  const status = document.getElementById("status");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const from = S.last;
  socket = new WebSocket(`${scheme}://${location.host}/sandbox/ws?after=${from}`);
  let first = true;
  socket.addEventListener("open", () => { status.dataset.state = "live"; status.textContent = "live"; });
  socket.addEventListener("message", (e) => {
    const data = JSON.parse(e.data);
    if (data.type === "state") {
      if (S.instance && data.state.instance !== S.instance) {
        // The stand-in was restarted: a new world, replayed from its first event.
        resetWorld(data.state.instance);
        socket.close();
        return;
      }
      S.instance = data.state.instance;
      setState(data.state);
    } else if (data.type === "events") {
      const live = !(first && from === 0);
      first = false;
      for (const event of data.events) applyEvent(event, live);
      S.last = data.last;
      scheduleRender();
    }
  });
  socket.addEventListener("close", () => {
    status.dataset.state = "connecting";
    status.textContent = "reconnecting…";
    setTimeout(connect, 1000);
  });
}

// -- drawing everything --------------------------------------------------------------------

let panes = [];
let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    if (!S.state) return;
    for (const pane of panes) pane.render();
    for (const pane of panes) {
      const badge = document.querySelector(`.tabs [data-tab=${pane.name}] .badge`);
      const count = pane.name === S.tab ? 0 : pane.tabBadge();
      badge.hidden = !count;
      badge.textContent = String(count);
    }
    document.body.dataset.lastEvent = String(S.last);
  });
}

function selectTab(name) {
  S.tab = name;
  for (const button of document.querySelectorAll(".tabs button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const pane of panes) pane.el.classList.toggle("active", pane.name === name);
  scheduleRender();
}

function start() {
  panes = [new PersonPane(), new StaffPane(), new AdminPane()];
  for (const button of document.querySelectorAll(".tabs button")) {
    button.addEventListener("click", () => selectTab(button.dataset.tab));
  }
  document.addEventListener("visibilitychange", scheduleRender);
  window.addEventListener("resize", scheduleRender);
  connect();
}

document.addEventListener("DOMContentLoaded", start);
