// A stand-in for the `convos` CLI (@xmtp/convos-cli 0.10.15) for tests and the local dev
// system, where the real CLI cannot reach XMTP. It keeps the real command names, flags,
// JSON output shapes and the `agent serve` ndjson protocol, and stores everything on disk
// under the convos home so separate invocations share state like the real CLI does.
//
// Extra, fake-only commands (not in the real CLI):
//   convos fake-inject [conversationId] --text <t> [--sender-name <n>] [--sender-inbox-id <id>]
//   convos fake-inject [conversationId] --event crash|member_joined|error
//   convos fake-accept            (a pending join request gets accepted by the creator)
//   convos fake-transcript        (prints the transcript path)
//
// Switches: environment variables, overridden by <home>/fake-control.json (same keys), which
// tests can rewrite while processes run:
//   FAKE_CONVOS_JOIN_MODE        joined (default) | pending | invalid | expired
//   FAKE_CONVOS_ACCEPT_AFTER_MS  with pending: the join is accepted this long after the request
//   FAKE_CONVOS_CREATE_FAIL      create fails with this message
//   FAKE_CONVOS_SLOW_START_MS    delay before create/join/serve produce output
//   FAKE_CONVOS_SERVE_CRASH_AFTER_MS  `agent serve` exits 1 this long after `ready`
//   FAKE_CONVOS_SERVE_FAIL       not-found: `agent serve` reports the conversation missing
//   FAKE_CONVOS_SCHEMA           path of the real CLI schema JSON: unknown flags are rejected
//   FAKE_CONVOS_TRANSCRIPT       transcript path (default <home>/fake-transcript.ndjson)
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

const VERSION = "0.10.15";
const BOOLEAN_FLAGS = new Set([
  "json", "no-wait", "force", "unlock", "sync", "include-dms", "include-inactive", "no-invite",
  "verbose", "structured-logging", "watch", "qr", "no-qr", "single-use", "include-metadata",
  "stdout", "help", "version",
]);
const SHORT_FLAGS = { f: "force", t: "text", o: "output" };
const REPEATABLE = new Set(["metadata"]);

class CliError extends Error {
  constructor(message, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

function parseArgv(argv) {
  const positionals = [];
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name;
    let inlineValue;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inlineValue = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (/^-[a-zA-Z]$/.test(arg)) {
      name = SHORT_FLAGS[arg[1]] ?? arg[1];
    } else {
      positionals.push(arg);
      continue;
    }
    let value;
    if (BOOLEAN_FLAGS.has(name)) value = inlineValue ?? true;
    else if (inlineValue !== undefined) value = inlineValue;
    else {
      if (i + 1 >= argv.length) throw new CliError(`Flag --${name} expects a value`);
      value = argv[++i];
    }
    if (REPEATABLE.has(name)) (flags[name] ??= []).push(value);
    else flags[name] = value;
  }
  return { positionals, flags };
}

function resolveCommand(positionals) {
  const topics = new Set(["agent", "conversation", "conversations", "identity", "attestation"]);
  if (topics.has(positionals[0]) && positionals[1]) {
    return { id: `${positionals[0]}:${positionals[1]}`, args: positionals.slice(2) };
  }
  return { id: positionals[0] ?? "", args: positionals.slice(1) };
}

function checkAgainstSchema(commandId, flags) {
  const schemaPath = process.env.FAKE_CONVOS_SCHEMA;
  if (!schemaPath || commandId.startsWith("fake-")) return;
  const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
  const command = schema.commands[commandId];
  if (!command) throw new CliError(`command ${commandId.replace(":", " ")} not found`);
  for (const name of Object.keys(flags)) {
    const base = name.startsWith("no-") && !command.flags?.[name] ? name.slice(3) : name;
    if (!command.flags?.[base] && !schema.commonFlags[base]) {
      throw new CliError(`Nonexistent flag: --${name}\nSee more help with --help`);
    }
  }
}

// ---- on-disk state -------------------------------------------------------------------

function homeDir(flags) {
  return flags.home ?? process.env.CONVOS_HOME ?? path.join(os.homedir(), ".convos");
}

function statePath(home) {
  return path.join(home, "fake-convos-state.json");
}

function loadState(home) {
  try {
    return JSON.parse(fs.readFileSync(statePath(home), "utf8"));
  } catch {
    return { identity: null, conversations: {}, pendingJoin: null };
  }
}

function saveState(home, state) {
  fs.mkdirSync(home, { recursive: true });
  const tmp = `${statePath(home)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2));
  fs.renameSync(tmp, statePath(home));
}

function control(home) {
  let fromFile = {};
  try {
    fromFile = JSON.parse(fs.readFileSync(path.join(home, "fake-control.json"), "utf8"));
  } catch {
    // no control file: environment only
  }
  const get = (key) => fromFile[key] ?? process.env[key];
  return {
    joinMode: get("FAKE_CONVOS_JOIN_MODE") ?? "joined",
    acceptAfterMs: numberOrNull(get("FAKE_CONVOS_ACCEPT_AFTER_MS")),
    createFail: get("FAKE_CONVOS_CREATE_FAIL") || null,
    slowStartMs: numberOrNull(get("FAKE_CONVOS_SLOW_START_MS")) ?? 0,
    serveCrashAfterMs: numberOrNull(get("FAKE_CONVOS_SERVE_CRASH_AFTER_MS")),
    serveFail: get("FAKE_CONVOS_SERVE_FAIL") || null,
  };
}

function numberOrNull(value) {
  if (value === undefined || value === null || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function transcriptPath(home) {
  return process.env.FAKE_CONVOS_TRANSCRIPT ?? path.join(home, "fake-transcript.ndjson");
}

function record(home, entry) {
  const file = transcriptPath(home);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify({ at: new Date().toISOString(), pid: process.pid, ...entry }) + "\n");
}

function hex(bytes) {
  return randomBytes(bytes).toString("hex");
}

function ensureIdentity(home, state, profileName) {
  if (!state.identity) {
    state.identity = {
      id: hex(8),
      inboxId: hex(32),
      address: `0x${hex(20)}`,
      profileName: profileName ?? null,
      createdAt: new Date().toISOString(),
    };
    saveState(home, state);
  }
  return state.identity;
}

function envOf(flags) {
  const env = flags.env ?? process.env.CONVOS_ENV ?? "dev";
  if (!["local", "dev", "production"].includes(env)) {
    throw new CliError(`Expected --env=${env} to be one of: local, dev, production`);
  }
  return env;
}

function inviteUrlFor(env, slug) {
  const base = env === "production" ? "https://popup.convos.org/v2" : "https://dev.convos.org/v2";
  return `${base}?i=${encodeURIComponent(slug)}`;
}

function makeSlug(conversationId, creatorInboxId, tag, name) {
  const payload = Buffer.from(JSON.stringify({ c: conversationId, i: creatorInboxId, t: tag, n: name ?? null }))
    .toString("base64url");
  return `${payload}.${hex(8)}`;
}

function slugFromInvite(invite) {
  try {
    const url = new URL(invite);
    return url.searchParams.get("i") ?? "";
  } catch {
    return invite;
  }
}

function output(flags, data) {
  if (flags.json || flags.fields || process.env.CONVOS_JSON_OUTPUT === "true") {
    process.stdout.write(JSON.stringify(data, null, 2) + "\n");
  } else {
    for (const [key, value] of Object.entries(data)) {
      process.stdout.write(`${key}: ${typeof value === "object" ? JSON.stringify(value) : value}\n`);
    }
  }
}

// The real CLI prints progress lines on stdout even in --json mode; keep that quirk so the
// plugin's parser is tested against it.
function log(line) {
  process.stdout.write(line + "\n");
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function findConversation(state, id) {
  const conversation = state.conversations[id];
  if (!conversation) throw new CliError(`Conversation not found: ${id}`);
  return conversation;
}

// ---- commands ------------------------------------------------------------------------

async function conversationsCreate(home, flags) {
  const ctl = control(home);
  if (ctl.slowStartMs) await sleep(ctl.slowStartMs);
  if (ctl.createFail) throw new CliError(ctl.createFail, 1);
  const env = envOf(flags);
  const state = loadState(home);
  const identity = ensureIdentity(home, state, flags["profile-name"]);
  const conversationId = hex(16);
  const tag = Math.random().toString(36).slice(2, 12);
  const slug = makeSlug(conversationId, identity.inboxId, tag, flags.name);
  const createdAt = new Date().toISOString();
  state.conversations[conversationId] = {
    id: conversationId,
    name: flags.name ?? "",
    description: flags.description ?? "",
    permissions: flags.permissions ?? "all-members",
    profileName: flags["profile-name"] ?? null,
    profileImage: flags["profile-image"] ?? null,
    metadata: flags.metadata ?? [],
    creator: true,
    tag,
    slug,
    env,
    locked: false,
    exploded: false,
    createdAt,
  };
  saveState(home, state);
  record(home, { kind: "created", conversationId, name: flags.name ?? "", profileName: flags["profile-name"] ?? null });
  output(flags, {
    conversationId,
    identityId: identity.id,
    address: identity.address,
    inboxId: identity.inboxId,
    name: flags.name ?? "",
    description: flags.description ?? "",
    permissions: flags.permissions ?? "all-members",
    createdAt,
    invite: { slug, url: inviteUrlFor(env, slug), tag },
  });
}

async function conversationsJoin(home, flags, args) {
  const invite = args[0];
  if (!invite) throw new CliError("Missing 1 required arg:\ninvite  Invite slug or URL");
  const ctl = control(home);
  if (ctl.slowStartMs) await sleep(ctl.slowStartMs);
  const slug = slugFromInvite(invite);
  if (ctl.joinMode === "invalid" || !slug || slug.includes("invalid")) throw new CliError("Invalid invite signature");
  if (ctl.joinMode === "expired") throw new CliError("Invite has expired");
  const state = loadState(home);
  const identity = ensureIdentity(home, state, flags["profile-name"]);
  let decoded = {};
  try {
    decoded = JSON.parse(Buffer.from(slug.split(".")[0], "base64url").toString("utf8"));
  } catch {
    // A real invite from the app: derive a stable id from it.
  }
  const conversationId = typeof decoded.c === "string" ? decoded.c : createHash("sha256").update(slug).digest("hex").slice(0, 32);
  const tag = typeof decoded.t === "string" ? decoded.t : "fake-tag";
  log(`Invite parsed: tag=${tag}`);
  log("Join request sent.");
  record(home, { kind: "join_requested", conversationId, invite, profileName: flags["profile-name"] ?? null });
  const base = { identityId: identity.id, address: identity.address, inboxId: identity.inboxId, tag };
  const conversation = {
    id: conversationId,
    name: decoded.n ?? "",
    description: "",
    permissions: "all-members",
    profileName: flags["profile-name"] ?? null,
    creator: false,
    tag,
    slug,
    env: envOf(flags),
    locked: false,
    exploded: false,
    createdAt: new Date().toISOString(),
  };
  if (flags["no-wait"] || ctl.joinMode === "pending") {
    const acceptAt = ctl.acceptAfterMs === null ? null : Date.now() + ctl.acceptAfterMs;
    state.pendingJoin = { conversation, acceptAt };
    saveState(home, state);
    if (flags["no-wait"]) {
      output(flags, { status: "request_sent", ...base, creatorInboxId: decoded.i ?? null, conversationName: decoded.n ?? null, profileName: flags["profile-name"] ?? null, profileImage: flags["profile-image"] ?? null, message: "Join request sent. The creator must accept it." });
    } else {
      log(`Waiting for acceptance (timeout: ${flags.timeout ?? 60}s)...`);
      log("Timed out waiting for acceptance.");
      output(flags, { status: "timeout", ...base, message: "The creator has not yet accepted the join request." });
    }
    return;
  }
  state.conversations[conversationId] = conversation;
  saveState(home, state);
  record(home, { kind: "joined", conversationId });
  output(flags, { status: "joined", conversationId, ...base, conversationName: decoded.n ?? null, profileName: flags["profile-name"] ?? null, profileImage: flags["profile-image"] ?? null });
}

function promotePendingJoin(home, state) {
  const pending = state.pendingJoin;
  if (pending && pending.acceptAt !== null && pending.acceptAt <= Date.now()) {
    state.conversations[pending.conversation.id] = pending.conversation;
    state.pendingJoin = null;
    saveState(home, state);
    record(home, { kind: "joined", conversationId: pending.conversation.id });
  }
}

function conversationsList(home, flags) {
  const state = loadState(home);
  if (!state.identity) {
    output(flags, { message: "No identity found. Create a conversation to initialize: convos conversations create", count: 0 });
    return;
  }
  promotePendingJoin(home, state);
  const rows = Object.values(state.conversations)
    .filter((c) => flags["include-inactive"] || !c.exploded)
    .map((c) => ({ conversationId: c.id, kind: "group", name: c.name, createdAt: c.createdAt, memberCount: 2, isActive: !c.exploded, isLocked: c.locked }));
  if (rows.length === 0) {
    output(flags, { message: "No conversations found. Create one with: convos conversations create", count: 0 });
    return;
  }
  if (flags.json) process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
  else for (const row of rows) log(`${row.conversationId} ${row.name}`);
}

function identityInfo(home, flags) {
  const state = loadState(home);
  const identity = ensureIdentity(home, state, undefined);
  output(flags, { identityId: identity.id, inboxId: identity.inboxId, address: identity.address, profileName: identity.profileName });
}

function conversationLock(home, flags, args) {
  const state = loadState(home);
  const conversation = findConversation(state, args[0]);
  conversation.locked = !flags.unlock;
  conversation.tag = Math.random().toString(36).slice(2, 12);
  saveState(home, state);
  record(home, { kind: flags.unlock ? "unlock" : "lock", conversationId: conversation.id });
  output(flags, { conversationId: conversation.id, locked: conversation.locked });
}

function conversationExplode(home, flags, args) {
  const state = loadState(home);
  const conversation = findConversation(state, args[0]);
  if (!conversation.creator) throw new CliError("Only the conversation creator (super admin) can explode.", 1);
  conversation.exploded = true;
  saveState(home, state);
  record(home, { kind: "explode", conversationId: conversation.id });
  output(flags, { conversationId: conversation.id, exploded: true, membersRemoved: 1 });
}

function conversationUpdateName(home, flags, args) {
  const state = loadState(home);
  const conversation = findConversation(state, args[0]);
  conversation.name = args[1] ?? "";
  saveState(home, state);
  record(home, { kind: "rename", conversationId: conversation.id, name: conversation.name });
  output(flags, { conversationId: conversation.id, name: conversation.name });
}

function conversationSendText(home, flags, args) {
  const state = loadState(home);
  const conversation = findConversation(state, args[0]);
  const text = flags.text ?? args[1];
  if (!text) throw new CliError("Provide the text as an argument or with --text");
  const id = hex(16);
  record(home, { kind: "sent", conversationId: conversation.id, id, text });
  output(flags, { id, conversationId: conversation.id, text });
}

function conversationSendReaction(home, flags, args) {
  const [conversationId, messageId, action, emoji] = args;
  const state = loadState(home);
  findConversation(state, conversationId);
  if (!["add", "remove"].includes(action)) throw new CliError(`Expected action to be one of: add, remove`);
  const id = hex(16);
  record(home, { kind: "reaction", conversationId, id, messageId, emoji, action });
  output(flags, { id, conversationId, messageId, emoji, action });
}

function reset(home, flags) {
  if (!flags.force) throw new CliError("Cannot confirm in non-interactive terminal. Use --force to skip confirmation.");
  const transcript = transcriptPath(home);
  fs.rmSync(statePath(home), { force: true });
  fs.rmSync(path.join(home, "fake-inbox"), { recursive: true, force: true });
  record(home, { kind: "reset" });
  output(flags, { reset: true, home, transcript });
}

function inboxFile(home, conversationId) {
  return path.join(home, "fake-inbox", `${conversationId}.ndjson`);
}

function fakeInject(home, flags, args) {
  const state = loadState(home);
  const conversationId = args[0] ?? Object.keys(state.conversations)[0];
  if (!conversationId) throw new CliError("No conversation to inject into");
  const event = flags.event ?? "message";
  const entry = event === "message"
    ? {
        type: "message",
        id: flags.id ?? hex(16),
        text: flags.text ?? "",
        senderInboxId: flags["sender-inbox-id"] ?? "f".repeat(64),
        senderName: flags["sender-name"] ?? null,
        contentType: flags["content-type"] ?? "text",
      }
    : { type: event, inboxId: flags["sender-inbox-id"] ?? "e".repeat(64), message: flags.text ?? null };
  const file = inboxFile(home, conversationId);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify(entry) + "\n");
  output({ json: true }, { injected: entry, conversationId });
}

function fakeAccept(home, flags) {
  const state = loadState(home);
  if (!state.pendingJoin) throw new CliError("No pending join request", 1);
  state.pendingJoin.acceptAt = Date.now();
  promotePendingJoin(home, state);
  output(flags, { accepted: true });
}

// ---- agent serve ---------------------------------------------------------------------

async function agentServe(home, flags, args) {
  const emit = (event) => process.stdout.write(JSON.stringify(event) + "\n");
  const ctl = control(home);
  if (ctl.slowStartMs) await sleep(ctl.slowStartMs);
  const state = loadState(home);
  promotePendingJoin(home, state);
  const identity = ensureIdentity(home, state, flags["profile-name"]);
  let conversationId = args[0];
  if (ctl.serveFail === "not-found" && conversationId) throw new CliError(`Conversation not found: ${conversationId}`);
  let conversation;
  if (conversationId) {
    conversation = findConversation(state, conversationId);
    if (conversation.exploded) throw new CliError(`Conversation not found: ${conversationId}`);
  } else {
    conversationId = hex(16);
    const tag = Math.random().toString(36).slice(2, 12);
    conversation = { id: conversationId, name: flags.name ?? "", creator: true, tag, slug: makeSlug(conversationId, identity.inboxId, tag, flags.name), env: envOf(flags), locked: false, exploded: false, createdAt: new Date().toISOString() };
    state.conversations[conversationId] = conversation;
    saveState(home, state);
  }
  const env = envOf(flags);
  const inviteSlug = flags["no-invite"] ? undefined : conversation.slug;
  record(home, { kind: "serve_started", conversationId });
  emit({
    event: "ready",
    conversationId,
    identityId: identity.id,
    inboxId: identity.inboxId,
    address: identity.address,
    name: conversation.name ?? "",
    ...(inviteSlug && { inviteUrl: inviteUrlFor(env, inviteSlug), inviteSlug, inviteTag: conversation.tag }),
    timestamp: new Date().toISOString(),
  });

  let stopped = false;
  const timers = [];
  const stop = (code = 0) => {
    if (stopped) return;
    stopped = true;
    for (const t of timers) clearInterval(t);
    record(home, { kind: "serve_stopped", conversationId, code });
    // Let stdout drain before exiting so the last events reach the parent.
    process.stdout.write("", () => process.exit(code));
  };

  const heartbeat = Number(flags.heartbeat ?? 0);
  if (heartbeat > 0) {
    timers.push(setInterval(() => emit({ event: "heartbeat", conversationId, activeStreams: 2, timestamp: new Date().toISOString() }), heartbeat * 1000));
  }
  if (ctl.serveCrashAfterMs !== null) {
    timers.push(setTimeout(() => {
      process.stderr.write("fake convos: simulated crash\n");
      stop(1);
    }, ctl.serveCrashAfterMs));
  }

  // Inbound messages: drain <home>/fake-inbox/<id>.ndjson from a persisted offset so a
  // message injected while serve was down arrives on the next start, as catch-up.
  const inbox = inboxFile(home, conversationId);
  const offsetFile = `${inbox}.offset`;
  let offset = 0;
  try {
    offset = Number(fs.readFileSync(offsetFile, "utf8")) || 0;
  } catch {
    offset = 0;
  }
  let first = true;
  const poll = () => {
    let size;
    try {
      size = fs.statSync(inbox).size;
    } catch {
      first = false;
      return;
    }
    if (size <= offset) {
      first = false;
      return;
    }
    const fd = fs.openSync(inbox, "r");
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    fs.closeSync(fd);
    const text = buf.toString("utf8");
    const lastNewline = text.lastIndexOf("\n");
    if (lastNewline === -1) return;
    offset += Buffer.byteLength(text.slice(0, lastNewline + 1));
    fs.writeFileSync(offsetFile, String(offset));
    for (const line of text.slice(0, lastNewline).split("\n")) {
      if (!line.trim()) continue;
      const entry = JSON.parse(line);
      if (entry.type === "crash") {
        process.stderr.write("fake convos: injected crash\n");
        stop(1);
        return;
      }
      if (entry.type === "member_joined") {
        emit({ event: "member_joined", inboxId: entry.inboxId, conversationId, timestamp: new Date().toISOString() });
        continue;
      }
      if (entry.type === "error") {
        emit({ event: "error", message: entry.message ?? "injected error" });
        continue;
      }
      emit({
        event: "message",
        id: entry.id,
        senderInboxId: entry.senderInboxId,
        ...(entry.senderName && { senderProfile: { name: entry.senderName } }),
        contentType: { authorityId: "xmtp.org", typeId: entry.contentType ?? "text", versionMajor: 1, versionMinor: 0 },
        content: entry.text,
        sentAt: new Date().toISOString(),
        deliveryStatus: "published",
        ...(first && { catchup: true }),
      });
    }
    first = false;
  };
  timers.push(setInterval(poll, 50));
  poll();

  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on("close", () => stop(0));
  process.on("SIGTERM", () => stop(0));
  process.on("SIGINT", () => stop(0));
  rl.on("line", (line) => {
    const trimmed = line.trim();
    if (!trimmed) return;
    let cmd;
    try {
      cmd = JSON.parse(trimmed);
    } catch {
      emit({ event: "error", message: "Invalid JSON on stdin", input: trimmed });
      return;
    }
    const now = () => new Date().toISOString();
    const current = loadState(home);
    const conv = current.conversations[conversationId];
    switch (cmd.type) {
      case "send": {
        if (!cmd.text) return emit({ event: "error", message: "send command requires 'text' field" });
        const id = hex(16);
        record(home, { kind: "sent", conversationId, id, text: cmd.text, ...(cmd.replyTo && { replyTo: cmd.replyTo }) });
        return emit({ event: "sent", id, text: cmd.text, ...(cmd.replyTo && { replyTo: cmd.replyTo }), timestamp: now() });
      }
      case "react": {
        if (!cmd.messageId || !cmd.emoji) return emit({ event: "error", message: "react command requires 'messageId' and 'emoji' fields" });
        const id = hex(16);
        const action = cmd.action ?? "add";
        record(home, { kind: "reaction", conversationId, id, messageId: cmd.messageId, emoji: cmd.emoji, action });
        return emit({ event: "sent", id, type: "reaction", messageId: cmd.messageId, emoji: cmd.emoji, action, timestamp: now() });
      }
      case "rename": {
        if (!cmd.name) return emit({ event: "error", message: "rename command requires 'name' field" });
        conv.name = cmd.name;
        saveState(home, current);
        record(home, { kind: "rename", conversationId, name: cmd.name });
        return emit({ event: "sent", type: "rename", name: cmd.name, conversationId, timestamp: now() });
      }
      case "update-profile": {
        record(home, { kind: "update-profile", conversationId, name: cmd.name, image: cmd.image, metadata: cmd.metadata });
        return emit({ event: "sent", type: "update-profile", ...(cmd.name !== undefined && { name: cmd.name }), conversationId, timestamp: now() });
      }
      case "lock":
      case "unlock": {
        conv.locked = cmd.type === "lock";
        conv.tag = Math.random().toString(36).slice(2, 12);
        saveState(home, current);
        record(home, { kind: cmd.type, conversationId });
        return emit({ event: "sent", type: cmd.type, conversationId, timestamp: now() });
      }
      case "explode": {
        if (!conv.creator) return emit({ event: "error", message: "Command failed: Only the conversation creator (super admin) can explode.", command: cmd });
        if (cmd.scheduled) {
          record(home, { kind: "explode_scheduled", conversationId, at: cmd.scheduled });
          return emit({ event: "sent", type: "explode", scheduled: true, conversationId, expiresAt: cmd.scheduled, timestamp: now() });
        }
        conv.exploded = true;
        saveState(home, current);
        record(home, { kind: "explode", conversationId });
        emit({ event: "sent", type: "explode", conversationId, membersRemoved: 1, expiresAt: now(), timestamp: now() });
        return stop(0);
      }
      case "stop":
        return stop(0);
      default:
        return emit({ event: "error", message: `Unknown command type: ${cmd.type}` });
    }
  });
}

// ---- main ----------------------------------------------------------------------------

async function main() {
  const { positionals, flags } = parseArgv(process.argv.slice(2));
  if (flags.version || positionals[0] === "version") {
    process.stdout.write(`@xmtp/convos-cli/${VERSION} (fake) node-${process.version}\n`);
    return;
  }
  const { id, args } = resolveCommand(positionals);
  checkAgainstSchema(id, flags);
  const home = homeDir(flags);
  if (id !== "fake-transcript") record(home, { kind: "command", command: id, args, flags });
  switch (id) {
    case "conversations:create": return conversationsCreate(home, flags);
    case "conversations:join": return conversationsJoin(home, flags, args);
    case "conversations:list": return conversationsList(home, flags);
    case "identity:info": return identityInfo(home, flags);
    case "conversation:lock": return conversationLock(home, flags, args);
    case "conversation:explode": return conversationExplode(home, flags, args);
    case "conversation:update-name": return conversationUpdateName(home, flags, args);
    case "conversation:send-text": return conversationSendText(home, flags, args);
    case "conversation:send-reaction": return conversationSendReaction(home, flags, args);
    case "agent:serve": return agentServe(home, flags, args);
    case "reset": return reset(home, flags);
    case "fake-inject": return fakeInject(home, flags, args);
    case "fake-accept": return fakeAccept(home, flags);
    case "fake-transcript": return void process.stdout.write(transcriptPath(home) + "\n");
    default:
      throw new CliError(`command ${id.replace(":", " ")} not found`, 127);
  }
}

main().catch((err) => {
  if (err instanceof CliError) {
    // oclif's error format: the plugin matches on the message, not the decoration.
    process.stderr.write(` ›   Error: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
