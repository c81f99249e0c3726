// FAKE-ONLY commands (not in the real CLI): they play the other side of the conversation —
// the app owner and the other members — and break things on purpose. Output: one JSON
// document on stdout. See the header of main.ts for the full list.
import fs from "node:fs";
import path from "node:path";
import { generatePrivateKey } from "viem/accounts";
import type { Flags } from "./argv.ts";
import { record, transcriptPath } from "./control.ts";
import { contentTypes, createGroup, groupUpdated, makeInvite, type ContentTypes } from "./groups.ts";
import { addressOf, type Install } from "./install.ts";
import { hex, inboxIdFor, isMember, type Content, type Group, type Network, type SimulatedInbox } from "./network.ts";
import { controlFile } from "./serve.ts";
import { commandError, type Session } from "./session.ts";

const str = (flags: Flags, name: string) => (typeof flags[name] === "string" ? (flags[name] as string) : undefined);
const print = (data: unknown): void => void process.stdout.write(JSON.stringify(data, null, 2) + "\n");

/** A person the model plays, created on first use; without a name it publishes no profile. */
function person(network: Network, inboxId: string | undefined, name: string | undefined): SimulatedInbox {
  if (inboxId) {
    const known = network.simulated(inboxId);
    if (known) return known;
    const made = { inboxId, walletKey: generatePrivateKey(), name: name ?? "" };
    network.saveSimulated(made);
    return made;
  }
  const walletKey = generatePrivateKey();
  const made = { inboxId: inboxIdFor(addressOf(walletKey)), walletKey, name: name ?? "" };
  network.saveSimulated(made);
  return made;
}

/** The sender joins the group if needed, and publishes its name, as the app would. */
function ensureMember(CT: ContentTypes, network: Network, group: Group, sender: SimulatedInbox, role: "member" | "super_admin" = "member"): void {
  if (isMember(group, sender.inboxId)) return;
  network.updateGroup(group.id, (g) => g.members.push({ inboxId: sender.inboxId, role, addedAt: new Date().toISOString() }));
  network.append(group.id, group.creatorInboxId, CT.groupUpdated, groupUpdated(group.creatorInboxId, { added: [sender.inboxId] }));
  if (sender.name) network.append(group.id, sender.inboxId, CT.profileUpdate, { kind: "profile_update", name: sender.name });
}

/**
 * fake-invite [--name N] [--description D] [--owner-name Maya] [--permissions all-members|admin-only]
 * The owner creates a conversation in the app and shares its invite: a real, signed invite
 * (the real CLI's utils/invite.js) that `conversations join` accepts.
 */
export async function fakeInvite(s: Session): Promise<void> {
  const CT = await contentTypes();
  const owner = person(s.network, undefined, str(s.flags, "owner-name") ?? "Owner");
  const group = createGroup(s.network, owner.inboxId, { name: str(s.flags, "name"), description: str(s.flags, "description"), permissions: str(s.flags, "permissions") });
  s.network.append(group.id, owner.inboxId, CT.profileUpdate, { kind: "profile_update", name: owner.name });
  const invite = await makeInvite(group, owner.inboxId, owner.walletKey, s.env);
  print({ inviteUrl: invite.url, inviteSlug: invite.slug, conversationId: group.id, ownerInboxId: owner.inboxId, tag: invite.tag });
}

/** fake-accept: the owner's app accepts this install's pending join requests now. */
export function fakeAccept(s: Session): void {
  const inboxId = s.install.db()?.inboxId;
  let accepted = 0;
  s.network.updateJoinRequests((all) => {
    for (const r of all) {
      if (r.state === "pending" && r.joinerInboxId === inboxId && s.network.simulated(r.creatorInboxId)) {
        r.acceptAt = Date.now();
        accepted++;
      }
    }
  });
  if (accepted === 0) throw commandError("No pending join request");
  print({ accepted: true, requests: accepted });
}

export function fakeTranscript(s: Session): void {
  process.stdout.write(transcriptPath(s.home) + "\n");
}

function targetGroup(s: Session, install: Install): Group {
  const db = install.db();
  const id = s.args[0] ?? Object.keys(db?.groups ?? {})[0];
  if (!id) throw commandError("No conversation to inject into");
  const group = s.network.group(id);
  if (!group) throw commandError(`Conversation not found: ${id}`);
  return group;
}

const DEFAULT_MEMBER = "f".repeat(64);
/** Events the owner performs (in the app) unless another sender is named. */
const ownerActsFor = (event: string | undefined) => ["member_added", "member_removed", "rename", "explode"].includes(event ?? "");
const ownerOf = (s: Session, group: Group) => s.network.simulated(group.creatorInboxId);

const CONTROL_EVENTS = new Set(["crash", "error", "stream-error", "stream-restart", "catchup-error", "heartbeat-stall"]);

/**
 * fake-inject [conversationId] — another member acts (the conversation defaults to this
 * install's first one; the sender to a member the model plays):
 *   --text T [--reply-to MSGID]                    a text, or a reply to a message id
 *   --reaction EMOJI --to MSGID [--remove]          a reaction added / removed
 *   --attachment FILE [--remote] [--mime-type M]    an image/file (inline, or remote)
 *   --event member_joined                           someone joins with the current invite
 *   --event member_added|member_removed             the owner adds / removes --sender-inbox-id
 *   --event rename --name N                         the owner renames the conversation
 *   --event explode [--scheduled ISO]               the owner explodes it (explode_notice)
 *   --event typing [--stop] | read_receipt | profile [--name N] | thinking --to MSGID [--text T] [--stop]
 *   common: [--sender-inbox-id ID (default: the member f…f; the owner for owner events)]
 *           [--sender-name N] [--id MSGID]
 * and the local `agent serve` misbehaves (fake-only control events):
 *   --event crash                                   agent serve exits 1
 *   --event error --text T                          an `error` line
 *   --event stream-error [--text T]                 "Message stream ended: …", stream dead
 *   --event stream-restart [--duration-ms N]        the stream restarts; catch-up follows
 *   --event catchup-error [--text T]                the next catch-up fails ("Failed to catch up
 *                                                   messages: …"): the gap is lost to the stream
 *   --event heartbeat-stall [--duration-ms N]       heartbeats stop (stream alive)
 */
export async function fakeInject(s: Session): Promise<void> {
  const group = targetGroup(s, s.install);
  const event = str(s.flags, "event") ?? "message";
  if (CONTROL_EVENTS.has(event)) {
    const entry = { type: event, ...(str(s.flags, "text") && { text: str(s.flags, "text") }), ...(str(s.flags, "duration-ms") && { durationMs: Number(str(s.flags, "duration-ms")) }) };
    const file = controlFile(s.home, group.id);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, JSON.stringify(entry) + "\n");
    return print({ injected: entry, conversationId: group.id });
  }
  const CT = await contentTypes();
  const ownerInbox = s.network.simulated(group.creatorInboxId);
  // Without --sender-inbox-id a member speaks: the same one every time (inbox f…f).
  const explicitSender = str(s.flags, "sender-inbox-id") ?? (ownerActsFor(str(s.flags, "event")) && ownerOf(s, group) ? undefined : DEFAULT_MEMBER);
  const sender = ownerActsFor(event) && ownerInbox && !explicitSender ? ownerInbox : person(s.network, explicitSender, str(s.flags, "sender-name"));
  if (explicitSender && str(s.flags, "sender-name") && sender.name !== str(s.flags, "sender-name")) {
    s.network.saveSimulated({ ...sender, name: str(s.flags, "sender-name")! });
    s.network.append(group.id, sender.inboxId, CT.profileUpdate, { kind: "profile_update", name: str(s.flags, "sender-name")! });
  }
  const id = str(s.flags, "id") ?? hex(32);
  const append = (contentType: ContentTypes[keyof ContentTypes], content: Content) => s.network.append(group.id, sender.inboxId, contentType, content, id);
  const groupUpdate = (change: Partial<Extract<Content, { kind: "group_updated" }>>) => append(CT.groupUpdated, groupUpdated(sender.inboxId, change));
  if (event !== "member_joined") ensureMember(CT, s.network, group, sender, sender.inboxId === group.creatorInboxId ? "super_admin" : "member");
  let injected: unknown;
  switch (event) {
    case "message": {
      const attachment = str(s.flags, "attachment");
      const reaction = str(s.flags, "reaction");
      if (attachment) {
        const bytes = fs.readFileSync(attachment);
        const blob = s.network.putBlob(bytes);
        const { getMimeType } = await import("@xmtp/convos-cli/utils/mime");
        const mimeType = str(s.flags, "mime-type") ?? getMimeType(attachment);
        const filename = path.basename(attachment);
        injected = s.flags.remote
          ? append(CT.remoteAttachment, {
              kind: "remote_attachment",
              url: `https://fake-convos.invalid/uploads/${blob}`,
              filename,
              contentLength: bytes.length + 16,
              contentDigest: blob,
              secret: hex(32),
              salt: hex(32),
              nonce: hex(12),
              scheme: "https",
              blob,
              mimeType,
            })
          : append(CT.attachment, { kind: "attachment", filename, mimeType, blob, size: bytes.length });
      } else if (reaction) {
        const to = str(s.flags, "to");
        if (!to) throw commandError("--reaction needs --to <message id>");
        injected = append(CT.reaction, { kind: "reaction", reference: to, action: s.flags.remove ? "removed" : "added", emoji: reaction });
      } else {
        const text = str(s.flags, "text") ?? "";
        const replyTo = str(s.flags, "reply-to");
        injected = replyTo ? append(CT.reply, { kind: "reply", reference: replyTo, text }) : append(CT.text, { kind: "text", text });
      }
      break;
    }
    case "member_joined": {
      // A person uses the current invite: a join request the creator's `agent serve` handles.
      const identity = s.install.store.load();
      const db = s.install.db();
      if (!identity || !db || group.creatorInboxId !== db.inboxId) throw commandError("member_joined needs this install to be the conversation's creator");
      const { encryptConversationToken } = await import("@xmtp/convos-cli/utils/invite");
      const token = encryptConversationToken(group.id, db.inboxId, Buffer.from(identity.walletKey.replace("0x", ""), "hex"));
      const request = {
        id: hex(8),
        joinerInboxId: sender.inboxId,
        creatorInboxId: db.inboxId,
        tag: str(s.flags, "tag") ?? group.appData.tag ?? "",
        conversationToken: Buffer.from(token).toString("hex"),
        profileName: sender.name,
        requestedAt: new Date().toISOString(),
        acceptAt: null,
        state: "pending" as const,
      };
      s.network.updateJoinRequests((all) => {
        all.push(request);
      });
      injected = request;
      break;
    }
    case "member_added":
    case "member_removed": {
      const subject = person(s.network, str(s.flags, "member-inbox-id"), str(s.flags, "member-name"));
      if (event === "member_added") {
        s.network.updateGroup(group.id, (g) => g.members.push({ inboxId: subject.inboxId, role: "member", addedAt: new Date().toISOString() }));
        injected = groupUpdate({ added: [subject.inboxId] });
      } else {
        s.network.updateGroup(group.id, (g) => (g.members = g.members.filter((m) => m.inboxId !== subject.inboxId)));
        injected = groupUpdate({ removed: [subject.inboxId] });
      }
      break;
    }
    case "rename": {
      const name = str(s.flags, "name") ?? "";
      const old = group.name;
      s.network.updateGroup(group.id, (g) => (g.name = name));
      injected = groupUpdate({ fieldChanges: [{ fieldName: "group_name", oldValue: old, newValue: name }] });
      break;
    }
    case "explode": {
      const scheduled = str(s.flags, "scheduled");
      injected = append(CT.explodeSettings, { kind: "explode_settings", expiresAt: scheduled ?? new Date().toISOString() });
      if (!scheduled) {
        // The app removes everyone else right after announcing it.
        const others = group.members.filter((m) => m.inboxId !== sender.inboxId).map((m) => m.inboxId);
        s.network.updateGroup(group.id, (g) => (g.members = g.members.filter((m) => m.inboxId === sender.inboxId)));
        s.network.append(group.id, sender.inboxId, CT.groupUpdated, groupUpdated(sender.inboxId, { removed: others }));
      }
      break;
    }
    case "typing":
      injected = append(CT.typingIndicator, { kind: "typing", isTyping: !s.flags.stop });
      break;
    case "read_receipt":
      injected = append(CT.readReceipt, { kind: "read_receipt" });
      break;
    case "thinking":
      injected = append(CT.thinking, { kind: "thinking", state: s.flags.stop ? "stop" : "start", targetMessageId: str(s.flags, "to") ?? "", content: str(s.flags, "text") ?? "thinking" });
      break;
    case "profile":
      injected = append(CT.profileUpdate, { kind: "profile_update", name: str(s.flags, "name") ?? sender.name });
      break;
    default:
      throw commandError(`fake-inject: unknown --event ${event}`);
  }
  record(s.home, { kind: "injected", event, conversationId: group.id, senderInboxId: sender.inboxId });
  print({ injected, conversationId: group.id, senderInboxId: sender.inboxId });
}
