// `convos agent serve`, modelled on commands/agent/serve.js run()/handleCommand():
// - `ready` once the group is resolved and the invite built; pending join requests are then
//   processed and the streams subscribed (STREAM_SUBSCRIBE_MS later); stdin is read only
//   after that. Messages sent before the subscription are never printed: no replay on a
//   fresh start (they are in `conversation messages`).
// - stdin commands run strictly one after another; each prints one `sent` or `error` line
//   (none for stop; immediate explode prints `sent` and exits 0).
// - catch-up (`catchup:true`) only after the stream restarts inside this process
//   (fake-inject --event stream-restart, or the network coming back).
// - heartbeats from a timer; they keep coming when the message stream is dead.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { getMimeType } from "@xmtp/convos-cli/utils/mime";
import type { ServeCommand, ServeEvent } from "../../plugins/convos/src/cli-protocol.ts";
import { bool, str } from "./argv.ts";
import { record } from "./control.ts";
import { serveEventFor } from "./content.ts";
import { AGENT_MEMBER_KIND, acceptJoinRequest, contentTypes, type ContentTypes, createGroup, groupUpdated, makeInvite } from "./groups.ts";
import { STREAM_SUBSCRIBE_MS, draw, roundTrips, sleep } from "./latency.ts";
import { hex, isMember, mayRemoveMembers, mayUpdateMetadata, mayUpdatePermissions, type Content, type Group, type StoredMessage } from "./network.ts";
import { commandError, connect, uploadProviderConfigured, type Session } from "./session.ts";

// libxmtp's wording for these is not observable without a network; the model's stand-ins.
export const INSUFFICIENT_PERMISSIONS = "[GroupError::Intent] insufficient permissions for this group update";
export const INACTIVE_GROUP = "Unable to send a message on an inactive group.";

const POLL_MS = 50;

export function controlFile(home: string, conversationId: string): string {
  return path.join(home, "fake-inbox", `${conversationId}.ndjson`);
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Complete ndjson lines of `file` after byte `offset`; returns them and the new offset. */
function readNew(file: string, offset: number): { lines: string[]; offset: number } {
  const size = sizeOf(file);
  if (size <= offset) return { lines: [], offset };
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(size - offset);
  fs.readSync(fd, buf, 0, buf.length, offset);
  fs.closeSync(fd);
  const text = buf.toString("utf8");
  const end = text.lastIndexOf("\n");
  if (end === -1) return { lines: [], offset };
  return { lines: text.slice(0, end).split("\n").filter(Boolean), offset: offset + Buffer.byteLength(text.slice(0, end + 1)) };
}

export async function agentServe(s: Session): Promise<void> {
  const ctl = s.control();
  const { identity, db, address } = await connect(s);
  const CT = await contentTypes();
  const me = db.inboxId;
  const env = s.env;
  let group: Group;
  let invite: { slug: string; url: string; tag: string } | undefined;
  const profileName = str(s.flags, "profile-name") ?? identity.profileName;
  if (s.args[0]) {
    const id = s.args[0];
    if (ctl.serveFail === "not-found") throw commandError(`Conversation not found: ${id}`);
    const known = db.groups[id] ? s.network.group(id) : null;
    if (!known) throw commandError(`Conversation not found: ${id}`);
    group = known;
    await roundTrips(1);
    if (!bool(s.flags, "no-invite") && group.appData.tag) invite = await makeInvite(group, me, identity.walletKey, env);
    if (profileName && isMember(group, me)) {
      s.network.append(group.id, me, CT.profileUpdate, { kind: "profile_update", name: profileName, memberKind: AGENT_MEMBER_KIND });
      await roundTrips(1);
    }
  } else {
    await roundTrips(1);
    group = createGroup(s.network, me, { name: str(s.flags, "name"), description: str(s.flags, "description"), permissions: str(s.flags, "permissions") });
    s.install.sync(s.network, db, [group.id]);
    s.network.append(group.id, me, CT.profileUpdate, { kind: "profile_update", ...(profileName && { name: profileName }), memberKind: AGENT_MEMBER_KIND });
    await roundTrips(2);
    invite = await makeInvite(group, me, identity.walletKey, env);
    record(s.home, { kind: "created", conversationId: group.id, name: group.name, profileName: profileName ?? null, permissions: group.permissions });
  }
  const conversationId = group.id;
  const emit = (event: ServeEvent) => process.stdout.write(JSON.stringify(event) + "\n");
  const emitError = (message: string, details: Record<string, unknown> = {}) => emit({ event: "error", message, ...details } as ServeEvent);
  const now = () => new Date().toISOString();

  let qrCodePath: string | undefined;
  if (invite) {
    // The real CLI renders a PNG QR code here; the model writes the URL it would encode.
    qrCodePath = path.join(os.tmpdir(), `convos-invite-${conversationId}.png`);
    fs.writeFileSync(qrCodePath, `fake-convos QR code placeholder for ${invite.url}\n`);
    process.stderr.write(`QR code saved to: ${qrCodePath}\nInvite URL: ${invite.url}\n`);
  }
  // Control events are the tests' instrument, not CLI behaviour: one injected once this serve
  // said ready must reach it, however long the stream takes to subscribe after that.
  const controls = controlFile(s.home, conversationId);
  let controlOffset = sizeOf(controls);
  emit({
    event: "ready",
    conversationId,
    identityId: identity.id,
    inboxId: me,
    address,
    name: group.name ?? "",
    ...(invite && { inviteUrl: invite.url, inviteSlug: invite.slug, inviteTag: invite.tag }),
    ...(qrCodePath && { qrCodePath }),
    timestamp: now(),
  });
  record(s.home, { kind: "serve_started", conversationId });

  let stopping = false;
  const timers: NodeJS.Timeout[] = [];
  const shutdown = (code = 0) => {
    if (stopping) return;
    stopping = true;
    for (const t of timers) clearInterval(t);
    record(s.home, { kind: "serve_stopped", conversationId, code });
    process.stdout.write("", () => process.exit(code));
  };

  // ---- join requests (processPendingJoinRequests, then the DM stream) ----
  const processJoins = async (live: boolean) => {
    const mine = s.network.joinRequests().filter((r) => r.state === "pending" && r.creatorInboxId === me);
    for (const request of mine) {
      const before = s.network.group(conversationId);
      const wasMember = before ? isMember(before, request.joinerInboxId) : false;
      const locked = before?.addMemberPolicy === "deny" && before.appData.tag === request.tag;
      const accepted = await acceptJoinRequest(s.network, request, identity.walletKey, conversationId);
      s.network.updateJoinRequests((all) => {
        const r = all.find((x) => x.id === request.id);
        if (r) r.state = accepted ? "accepted" : "ignored";
      });
      if (accepted && !wasMember) emit({ event: "member_joined", inboxId: request.joinerInboxId, conversationId, timestamp: now() });
      // addMembers() throws on a locked group: only the live DM stream reports it.
      if (!accepted && locked && live) emitError(`Failed to handle DM message: ${INSUFFICIENT_PERMISSIONS}`, { messageId: request.id });
    }
  };
  await processJoins(false);
  await sleep(draw(STREAM_SUBSCRIBE_MS));

  // ---- the message stream ----
  const log = s.network.logFile(conversationId);
  let offset = sizeOf(log); // subscribed now: nothing older is ever printed
  let lastSeenNs = 0n;
  let streamDead = false;
  let pausedUntil = 0;
  let wasPaused = false;
  let removed = false;
  let catchupFails = false;
  let catchupFailure = "";
  const seen = new Set<string>();
  const deliver = (message: StoredMessage, catchup: boolean) => {
    if (message.senderInboxId === me || seen.has(message.id) || removed) return;
    seen.add(message.id);
    if (BigInt(message.sentAtNs) > lastSeenNs) lastSeenNs = BigInt(message.sentAtNs);
    const event = serveEventFor(message, conversationId, s.network, catchup);
    if (event) emit(event);
    if (message.content.kind === "group_updated" && message.content.removed.includes(me)) removed = true;
  };
  const pollStream = () => {
    if (stopping || streamDead) return;
    const down = s.control().networkDown;
    if (down || Date.now() < pausedUntil) {
      wasPaused = true;
      return;
    }
    const { lines, offset: next } = readNew(log, offset);
    offset = next;
    const messages = lines.map((l) => JSON.parse(l) as StoredMessage);
    // A restarted stream (onRestart) catches up from the newest message already seen.
    const catchup = wasPaused && lastSeenNs > 0n;
    wasPaused = false;
    if (catchup && catchupFails) {
      // catchUpMessages() failed: what arrived during the gap never reaches stdout.
      catchupFails = false;
      emitError(`Failed to catch up messages: ${catchupFailure}`);
      return;
    }
    for (const m of messages) deliver(m, catchup);
  };
  timers.push(setInterval(pollStream, POLL_MS));
  timers.push(
    setInterval(() => {
      if (!stopping && !s.control().networkDown) void processJoins(true);
    }, 250),
  );

  // ---- fake-only control events (fake-inject --event …), read from where `ready` was printed ----
  let heartbeatStalledUntil = 0;
  timers.push(
    setInterval(() => {
      const { lines, offset: next } = readNew(controls, controlOffset);
      controlOffset = next;
      for (const line of lines) {
        const entry = JSON.parse(line) as { type: string; text?: string; durationMs?: number };
        if (entry.type === "crash") {
          process.stderr.write("fake convos: injected crash\n");
          return shutdown(1);
        }
        if (entry.type === "error") emitError(entry.text ?? "injected error");
        if (entry.type === "stream-error") {
          streamDead = true;
          emitError(`Message stream ended: ${entry.text ?? "stream closed by the server"}`);
        }
        if (entry.type === "stream-restart") pausedUntil = Date.now() + (entry.durationMs ?? 500);
        if (entry.type === "catchup-error") {
          catchupFails = true;
          catchupFailure = entry.text ?? "transport error";
        }
        if (entry.type === "heartbeat-stall") heartbeatStalledUntil = entry.durationMs ? Date.now() + entry.durationMs : Number.POSITIVE_INFINITY;
      }
    }, POLL_MS),
  );

  const heartbeat = Number(str(s.flags, "heartbeat") ?? 0);
  if (heartbeat > 0) {
    const t = setInterval(() => {
      if (Date.now() < heartbeatStalledUntil) return;
      emit({ event: "heartbeat", conversationId, activeStreams: 2, timestamp: now() });
    }, heartbeat * 1000);
    t.unref();
    timers.push(t);
  }
  if (ctl.serveCrashAfterMs !== null) {
    timers.push(
      setTimeout(() => {
        process.stderr.write("fake convos: simulated crash\n");
        shutdown(1);
      }, ctl.serveCrashAfterMs),
    );
  }

  // ---- stdin commands ----
  const context: CommandContext = { CT, s, me, conversationId, emit, emitError, now, shutdown };
  let queue = Promise.resolve();
  if (!process.stdin.isTTY) {
    const rl = readline.createInterface({ input: process.stdin, terminal: false });
    rl.on("line", (line) => {
      const trimmed = line.trim();
      if (!trimmed) return;
      let cmd: Record<string, unknown>;
      try {
        cmd = JSON.parse(trimmed);
      } catch {
        emitError("Invalid JSON on stdin", { input: trimmed });
        return;
      }
      queue = queue.then(() => handleCommand(cmd, context));
    });
    rl.on("close", () => void queue.then(() => shutdown(0)));
  }
  const onSignal = () => {
    process.stderr.write("\nShutting down...\n");
    shutdown(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  await new Promise<never>(() => {});
}

type CommandContext = {
  CT: ContentTypes;
  s: Session;
  me: string;
  conversationId: string;
  emit: (event: ServeEvent) => void;
  emitError: (message: string, details?: Record<string, unknown>) => void;
  now: () => string;
  shutdown: (code?: number) => void;
};

class CommandFailed extends Error {}

async function handleCommand(raw: Record<string, unknown>, c: CommandContext): Promise<void> {
  const cmd = raw as ServeCommand & Record<string, unknown>;
  const { CT, s, me, conversationId, emit, emitError, now } = c;
  const group = () => s.network.group(conversationId)!;
  const requireActive = () => {
    if (s.control().networkDown) throw new CommandFailed("[ApiError::Api] transport error");
    if (!isMember(group(), me)) throw new CommandFailed(INACTIVE_GROUP);
  };
  const send = (contentType: ContentTypes[keyof ContentTypes], content: Content) => {
    requireActive();
    return s.network.append(conversationId, me, contentType, content);
  };
  const transcript = (entry: Record<string, unknown>) => record(s.home, { conversationId, ...entry });
  try {
    switch (cmd.type) {
      case "send": {
        if (!cmd.text) return emitError("send command requires 'text' field");
        await roundTrips(1);
        const text = String(cmd.text);
        const m = cmd.replyTo ? send(CT.reply, { kind: "reply", reference: String(cmd.replyTo), text }) : send(CT.text, { kind: "text", text });
        transcript({ kind: "sent", id: m.id, text, ...(cmd.replyTo && { replyTo: cmd.replyTo }) });
        return emit({ event: "sent", id: m.id, text, ...(cmd.replyTo ? { replyTo: String(cmd.replyTo) } : {}), timestamp: now() });
      }
      case "react": {
        if (!cmd.messageId || !cmd.emoji) return emitError("react command requires 'messageId' and 'emoji' fields");
        await roundTrips(1);
        const action = cmd.action === "remove" ? "removed" : "added";
        const m = send(CT.reaction, { kind: "reaction", reference: String(cmd.messageId), action, emoji: String(cmd.emoji) });
        transcript({ kind: "reaction", id: m.id, messageId: cmd.messageId, emoji: cmd.emoji, action: cmd.action ?? "add" });
        return emit({ event: "sent", id: m.id, type: "reaction", messageId: String(cmd.messageId), emoji: String(cmd.emoji), action: String(cmd.action ?? "add"), timestamp: now() });
      }
      case "attach": {
        if (!cmd.file) return emitError("attach command requires 'file' field");
        const file = String(cmd.file);
        let bytes: Buffer;
        try {
          bytes = fs.readFileSync(file);
        } catch (err) {
          throw new CommandFailed(err instanceof Error ? err.message : String(err));
        }
        const filename = path.basename(file);
        const mimeType = typeof cmd.mimeType === "string" ? cmd.mimeType : getMimeType(file);
        if (!uploadProviderConfigured()) return emitError("Configure an upload provider (CONVOS_API_KEY or CONVOS_UPLOAD_PROVIDER) to send attachments.");
        await roundTrips(3); // encrypt, upload, send
        const blob = s.network.putBlob(bytes);
        const url = `https://fake-convos.invalid/uploads/${blob}`;
        const remote = { url, filename, contentLength: bytes.length + 16, contentDigest: blob, secret: hex(32), salt: hex(32), nonce: hex(12), scheme: "https", blob, mimeType };
        const m = cmd.replyTo
          ? send(CT.reply, { kind: "reply", reference: String(cmd.replyTo), text: `[remote attachment: ${filename} (${remote.contentLength} bytes) ${url}]` })
          : send(CT.remoteAttachment, { kind: "remote_attachment", ...remote });
        transcript({ kind: "attachment", id: m.id, file, filename, mimeType, size: bytes.length, url, ...(cmd.replyTo && { replyTo: cmd.replyTo }) });
        return emit({
          event: "sent",
          id: m.id,
          type: "attachment",
          filename,
          mimeType,
          size: bytes.length,
          sendType: "remote",
          url,
          ...(cmd.replyTo ? { replyTo: String(cmd.replyTo) } : {}),
          timestamp: now(),
        });
      }
      case "remote-attach": {
        if (!cmd.url || !cmd.contentDigest || !cmd.secret || !cmd.salt || !cmd.nonce || !cmd.contentLength) {
          return emitError("remote-attach command requires 'url', 'contentDigest', 'secret', 'salt', 'nonce', and 'contentLength' fields");
        }
        await roundTrips(1);
        const filename = typeof cmd.filename === "string" ? cmd.filename : undefined;
        const m = send(CT.remoteAttachment, {
          kind: "remote_attachment",
          url: String(cmd.url),
          ...(filename && { filename }),
          contentLength: Number(cmd.contentLength),
          contentDigest: String(cmd.contentDigest),
          secret: String(cmd.secret),
          salt: String(cmd.salt),
          nonce: String(cmd.nonce),
          scheme: String(cmd.scheme ?? "https"),
          blob: "",
          mimeType: "application/octet-stream",
        });
        transcript({ kind: "remote-attachment", id: m.id, url: cmd.url, filename: filename ?? null });
        return emit({ event: "sent", id: m.id, type: "remote-attachment", url: String(cmd.url), ...(filename && { filename }), timestamp: now() });
      }
      case "rename": {
        if (!cmd.name) return emitError("rename command requires 'name' field");
        await roundTrips(1);
        requireActive();
        if (!mayUpdateMetadata(group(), me)) throw new CommandFailed(INSUFFICIENT_PERMISSIONS);
        const old = group().name;
        s.network.updateGroup(conversationId, (g) => {
          g.name = String(cmd.name);
        });
        s.network.append(conversationId, me, CT.groupUpdated, groupUpdated(me, { fieldChanges: [{ fieldName: "group_name", oldValue: old, newValue: String(cmd.name) }] }));
        transcript({ kind: "rename", name: cmd.name });
        return emit({ event: "sent", type: "rename", name: String(cmd.name), conversationId, timestamp: now() });
      }
      case "update-profile": {
        if (cmd.name == null && cmd.image == null && cmd.metadata == null) return emitError("update-profile requires 'name', 'image', and/or 'metadata'");
        if (typeof cmd.image === "string" && cmd.image !== "" && !uploadProviderConfigured()) {
          return emitError("Image upload requires an upload provider. Set CONVOS_API_KEY=<key> or CONVOS_UPLOAD_PROVIDER=convos-api with CONVOS_API_KEY.");
        }
        await roundTrips(2);
        const metadata =
          cmd.metadata && typeof cmd.metadata === "object"
            ? Object.fromEntries(
                Object.entries(cmd.metadata as Record<string, unknown>).map(([k, v]) => [
                  k,
                  typeof v === "boolean" ? { type: "bool", value: v } : typeof v === "number" ? { type: "number", value: v } : { type: "string", value: String(v) },
                ]),
              )
            : undefined;
        send(CT.profileUpdate, { kind: "profile_update", ...(typeof cmd.name === "string" && cmd.name && { name: cmd.name }), memberKind: AGENT_MEMBER_KIND, ...(metadata && { metadata }) });
        transcript({ kind: "update-profile", name: cmd.name ?? null, image: cmd.image ?? null, metadata: cmd.metadata ?? null });
        return emit({
          event: "sent",
          type: "update-profile",
          ...(cmd.name !== undefined && { name: String(cmd.name) }),
          ...(cmd.image !== undefined && { image: String(cmd.image) }),
          ...(cmd.metadata != null && { metadata: cmd.metadata as Record<string, unknown> }),
          conversationId,
          timestamp: now(),
        });
      }
      case "lock":
      case "unlock": {
        await roundTrips(1);
        requireActive();
        if (!mayUpdateMetadata(group(), me)) throw new CommandFailed(INSUFFICIENT_PERMISSIONS);
        // The tag rotates first (every earlier invite dies), then the permission changes:
        // a member that is not super admin rotates the tag and then fails.
        const { randomAlphanumeric } = await import("@xmtp/convos-cli/utils/random");
        s.network.updateGroup(conversationId, (g) => {
          g.appData.tag = randomAlphanumeric(10);
        });
        s.network.append(conversationId, me, CT.groupUpdated, groupUpdated(me, { fieldChanges: [{ fieldName: "app_data", oldValue: "", newValue: "rotated the invite tag" }] }));
        transcript({ kind: "invite_rotated", tag: group().appData.tag });
        await roundTrips(1);
        if (!mayUpdatePermissions(group(), me)) throw new CommandFailed(INSUFFICIENT_PERMISSIONS);
        s.network.updateGroup(conversationId, (g) => {
          g.addMemberPolicy = cmd.type === "lock" ? "deny" : "allow";
        });
        transcript({ kind: cmd.type });
        return emit({ event: "sent", type: cmd.type, conversationId, timestamp: now() });
      }
      case "explode": {
        let expiresAt = new Date();
        const scheduled = typeof cmd.scheduled === "string" && cmd.scheduled ? cmd.scheduled : undefined;
        if (scheduled) {
          expiresAt = new Date(scheduled);
          if (Number.isNaN(expiresAt.getTime())) return emitError(`Invalid scheduled date: ${scheduled}`);
          if (expiresAt <= new Date()) return emitError("Scheduled date must be in the future");
        }
        await roundTrips(1);
        // ExplodeSettings goes out first: members see explode_notice even if removing them fails.
        send(CT.explodeSettings, { kind: "explode_settings", expiresAt: expiresAt.toISOString() });
        if (mayUpdateMetadata(group(), me)) {
          s.network.updateGroup(conversationId, (g) => {
            g.appData.expiresAtUnix = Math.floor(expiresAt.getTime() / 1000);
          });
        }
        if (scheduled) {
          transcript({ kind: "explode_scheduled", expiresAt: expiresAt.toISOString() });
          return emit({ event: "sent", type: "explode", scheduled: true, conversationId, expiresAt: expiresAt.toISOString(), timestamp: now() });
        }
        await roundTrips(1);
        const others = group()
          .members.filter((m) => m.inboxId !== me)
          .map((m) => m.inboxId);
        if (others.length > 0) {
          if (!mayRemoveMembers(group(), me)) throw new CommandFailed(INSUFFICIENT_PERMISSIONS);
          s.network.updateGroup(conversationId, (g) => {
            g.members = g.members.filter((m) => m.inboxId === me);
          });
          s.network.append(conversationId, me, CT.groupUpdated, groupUpdated(me, { removed: others }));
        }
        transcript({ kind: "explode", membersRemoved: others.length });
        emit({ event: "sent", type: "explode", conversationId, membersRemoved: others.length, expiresAt: expiresAt.toISOString(), timestamp: now() });
        return c.shutdown(0);
      }
      case "read-receipt": {
        await roundTrips(1);
        const m = send(CT.readReceipt, { kind: "read_receipt" });
        transcript({ kind: "read-receipt", id: m.id });
        return emit({ event: "sent", id: m.id, type: "read-receipt", conversationId, timestamp: now() });
      }
      case "typing": {
        await roundTrips(1);
        const isTyping = cmd.isTyping !== false;
        const m = send(CT.typingIndicator, { kind: "typing", isTyping });
        transcript({ kind: "typing", id: m.id, isTyping });
        return emit({ event: "sent", id: m.id, type: "typing", isTyping, conversationId, timestamp: now() });
      }
      case "thinking": {
        if (cmd.state !== "start" && cmd.state !== "stop") return emitError("thinking command requires 'state' to be 'start' or 'stop'");
        if (typeof cmd.targetMessageId !== "string" || cmd.targetMessageId.length === 0) return emitError("thinking command requires non-empty 'targetMessageId' field");
        if (typeof cmd.content !== "string" || cmd.content.length === 0) return emitError("thinking command requires non-empty 'content' field");
        if (cmd.resultMessageId !== undefined) {
          if (typeof cmd.resultMessageId !== "string" || cmd.resultMessageId.length === 0) return emitError("thinking command 'resultMessageId' must be a non-empty string when provided");
          if (cmd.state !== "stop") return emitError("thinking command 'resultMessageId' is only meaningful with state: 'stop'");
        }
        await roundTrips(1);
        const resultMessageId = typeof cmd.resultMessageId === "string" ? cmd.resultMessageId : undefined;
        const m = send(CT.thinking, { kind: "thinking", state: cmd.state, targetMessageId: cmd.targetMessageId, content: cmd.content, ...(resultMessageId && { resultMessageId }) });
        transcript({ kind: "thinking", id: m.id, state: cmd.state, targetMessageId: cmd.targetMessageId });
        return emit({
          event: "sent",
          id: m.id,
          type: "thinking",
          state: cmd.state,
          targetMessageId: cmd.targetMessageId,
          content: cmd.content,
          ...(resultMessageId && { resultMessageId }),
          conversationId,
          timestamp: now(),
        });
      }
      case "stop":
        return c.shutdown(0);
      default: {
        const type = String((raw as { type?: unknown }).type);
        if (["connection-invoke", "capability-request", "cloud-connection-grant-request"].includes(type)) {
          return emitError(`Command failed: fake convos does not model ${type}`, { command: raw });
        }
        return emitError(`Unknown command type: ${type}`);
      }
    }
  } catch (err) {
    emitError(`Command failed: ${err instanceof Error ? err.message : "unknown"}`, { command: raw });
  }
}
