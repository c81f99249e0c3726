// The one-shot conversation commands the plugin runs, each modelled on its real source:
// conversations create|join|list, conversation messages|download-attachment|invite.
import fs from "node:fs";
import path from "node:path";
import { getExtension } from "@xmtp/convos-cli/utils/mime";
import { parseMetadataFlags } from "@xmtp/convos-cli/utils/profileMessages";
import type { CreateResult, DownloadAttachmentResult, InviteResult, JoinResult, ListResult, MessagesResult } from "../../plugins/convos/src/cli-protocol.ts";
import { bool, list, str } from "./argv.ts";
import { record } from "./control.ts";
import { commandError, commandStart, connect, log, output, uploadProviderConfigured, warn, type Session } from "./session.ts";
import { thrown } from "./failure.ts";
import { AGENT_MEMBER_KIND, contentTypes, createGroup, makeInvite, settleSimulatedOwners } from "./groups.ts";
import { JOIN_POLL_MS, OWNER_ACCEPT_MS, draw, latencyMode, roundTrips, sleep } from "./latency.ts";
import { hex, isMember, type Group } from "./network.ts";
import { messageRow, profileNames } from "./content.ts";

type ProfileMetadata = Record<string, { type: string; value: unknown }>;

function metadataOf(s: Session) {
  return parseMetadataFlags(list(s.flags, "metadata"), (msg: string) => {
    throw commandError(msg);
  }) as { parsedMetadata: ProfileMetadata; joinMetadata: Record<string, string> } | undefined;
}

function attestationMetadata(s: Session): ProfileMetadata | undefined {
  const sig = str(s.flags, "attestation");
  const ts = str(s.flags, "attestation-ts");
  const kid = str(s.flags, "attestation-kid");
  if (!sig || !ts || !kid) return undefined;
  return { attestation: { type: "string", value: sig }, attestation_ts: { type: "string", value: ts }, attestation_kid: { type: "string", value: kid } };
}

async function profileImageWarning(s: Session): Promise<void> {
  if (str(s.flags, "profile-image") && !uploadProviderConfigured()) {
    await warn("Image upload requires an upload provider. Set CONVOS_API_KEY or CONVOS_UPLOAD_PROVIDER. Skipping image.");
  }
}

/** The local DB must know the group (getConversationById), else `Conversation not found`. */
function knownGroup(s: Session, inboxId: string, id: string): Group {
  const db = s.install.db();
  const group = db?.groups[id] ? s.network.group(id) : null;
  if (!group || !db || db.inboxId !== inboxId) throw commandError(`Conversation not found: ${id}`);
  return group;
}

// commands/conversations/create.js
export async function conversationsCreate(s: Session): Promise<void> {
  const { identity, db } = await connect(s);
  const meta = metadataOf(s);
  const CT = await contentTypes();
  const fail = s.control().createFail;
  if (fail) throw thrown(fail);
  await roundTrips(1);
  const group = createGroup(s.network, db.inboxId, {
    name: str(s.flags, "name"),
    description: str(s.flags, "description"),
    imageUrl: str(s.flags, "image-url"),
    permissions: str(s.flags, "permissions"),
  });
  s.install.sync(s.network, db, [group.id]);
  await roundTrips(1); // updateAppData
  await profileImageWarning(s);
  const metadata = { ...(meta?.parsedMetadata ?? {}), ...(attestationMetadata(s) ?? {}) };
  const profileName = str(s.flags, "profile-name") ?? identity.profileName;
  s.network.append(group.id, db.inboxId, CT.profileUpdate, {
    kind: "profile_update",
    ...(profileName && { name: profileName }),
    memberKind: AGENT_MEMBER_KIND,
    ...(Object.keys(metadata).length > 0 && { metadata }),
  });
  await roundTrips(1);
  const invite = await makeInvite(group, db.inboxId, identity.walletKey, s.env);
  record(s.home, { kind: "created", conversationId: group.id, name: group.name, profileName: profileName ?? null, permissions: group.permissions, metadata });
  if (!s.json) log(`\n  ${invite.url}\n`);
  const result: CreateResult = {
    conversationId: group.id,
    identityId: identity.id,
    address: s.install.client().address,
    inboxId: db.inboxId,
    name: str(s.flags, "name") ?? "",
    description: str(s.flags, "description") ?? "",
    permissions: group.permissions,
    createdAt: group.createdAt,
    invite,
  };
  output(s, result);
}

// commands/conversations/join.js
export async function conversationsJoin(s: Session): Promise<void> {
  const ctl = s.control();
  const meta = metadataOf(s);
  const { parseInvite, verifyInvite } = await import("@xmtp/convos-cli/utils/invite");
  await commandStart(s);
  if (ctl.joinMode === "invalid") throw commandError("Invalid invite signature");
  if (ctl.joinMode === "expired") throw commandError("Invite has expired");
  let invite: ReturnType<typeof parseInvite>;
  try {
    invite = parseInvite(s.args[0]!);
  } catch (err) {
    throw thrown(err instanceof Error ? err.message : String(err));
  }
  if (!(await verifyInvite(invite))) throw commandError("Invalid invite signature");
  if (invite.expiresAt && invite.expiresAt < new Date()) throw commandError("Invite has expired");
  if (invite.conversationExpiresAt && invite.conversationExpiresAt < new Date()) throw commandError("Conversation has expired");
  log(`Invite parsed: tag=${invite.tag}${invite.name ? ` name="${invite.name}"` : ""} creator=${invite.creatorInboxId.slice(0, 12)}...`);
  const { identity, db, address } = await connect(s, { started: true });
  if (invite.creatorInboxId === db.inboxId) throw commandError("Invite was created by this install — you cannot join your own conversation.");
  log(`Identity ${identity.id.slice(0, 12)}... (${address})`);
  log(`Sending join request to creator inbox ${invite.creatorInboxId.slice(0, 12)}...`);
  await roundTrips(3); // createDm, sync, list
  const before = new Set(memberGroups(s, db.inboxId));
  const owner = s.network.simulated(invite.creatorInboxId);
  const acceptAt = !owner ? null : ctl.joinMode === "pending" ? (ctl.acceptAfterMs === null ? null : Date.now() + ctl.acceptAfterMs) : Date.now() + draw(OWNER_ACCEPT_MS);
  s.network.updateJoinRequests((all) => {
    all.push({
      id: hex(8),
      joinerInboxId: db.inboxId,
      creatorInboxId: invite.creatorInboxId,
      tag: invite.tag,
      conversationToken: Buffer.from(invite.conversationToken).toString("hex"),
      profileName: str(s.flags, "profile-name") ?? null,
      requestedAt: new Date().toISOString(),
      acceptAt,
      state: "pending",
    });
  });
  await roundTrips(2); // join request + slug text
  log("Join request sent.");
  record(s.home, { kind: "join_requested", invite: s.args[0], creatorInboxId: invite.creatorInboxId, tag: invite.tag, profileName: str(s.flags, "profile-name") ?? null });
  const base = { identityId: identity.id, address, inboxId: db.inboxId, tag: invite.tag };
  const profileName = str(s.flags, "profile-name") ?? null;
  const profileImage = str(s.flags, "profile-image") ?? null;
  if (bool(s.flags, "no-wait")) {
    const result: JoinResult = {
      status: "request_sent",
      ...base,
      creatorInboxId: invite.creatorInboxId,
      conversationName: invite.name ?? null,
      profileName,
      profileImage,
      ...(meta && { metadata: meta.joinMetadata }),
      message: "Join request sent. The creator must accept it. Run 'convos conversations list --sync' to check if you've been added.",
    };
    return output(s, result);
  }
  const timeoutS = Number(str(s.flags, "timeout") ?? 60);
  log(`Waiting for acceptance (timeout: ${timeoutS}s)...`);
  const start = Date.now();
  let conversationId: string | undefined;
  while (Date.now() - start < timeoutS * 1000) {
    await settleSimulatedOwners(s.network);
    await roundTrips(2); // sync + list
    conversationId = memberGroups(s, db.inboxId).find((id) => !before.has(id));
    if (conversationId) break;
    await sleep(latencyMode() === "none" ? 50 : JOIN_POLL_MS);
  }
  if (!conversationId) {
    log("Timed out waiting for acceptance.");
    const result: JoinResult = { status: "timeout", ...base, message: "The creator has not yet accepted the join request. Run 'convos conversations list --sync' later to check." };
    return output(s, result);
  }
  s.install.sync(s.network, db, [conversationId]);
  await profileImageWarning(s);
  const CT = await contentTypes();
  const name = profileName ?? identity.profileName;
  const metadata = { ...(meta?.parsedMetadata ?? {}), ...(attestationMetadata(s) ?? {}) };
  s.network.append(conversationId, db.inboxId, CT.profileUpdate, {
    kind: "profile_update",
    ...(name && { name }),
    memberKind: AGENT_MEMBER_KIND,
    ...(Object.keys(metadata).length > 0 && { metadata }),
  });
  await roundTrips(2);
  record(s.home, { kind: "joined", conversationId, profileName: name ?? null });
  const result: JoinResult = {
    status: "joined",
    conversationId,
    ...base,
    conversationName: invite.name ?? null,
    profileName: name ?? null,
    profileImage: profileImage ?? identity.profileImageUrl ?? null,
    ...(meta && { metadata: meta.joinMetadata }),
  };
  output(s, result);
}

function memberGroups(s: Session, inboxId: string): string[] {
  let files: string[] = [];
  try {
    files = fs.readdirSync(path.join(s.network.dir, "groups")).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  return files
    .map((f) => f.slice(0, -".json".length))
    .filter((id) => {
      const g = s.network.group(id);
      return g !== null && isMember(g, inboxId);
    });
}

// commands/conversations/list.js
export async function conversationsList(s: Session): Promise<void> {
  if (!s.install.store.exists()) {
    await commandStart(s);
    const result: ListResult = { message: "No identity found. Create a conversation to initialize: convos conversations create", count: 0 };
    return output(s, result);
  }
  let { db } = await connect(s);
  if (bool(s.flags, "sync")) {
    await settleSimulatedOwners(s.network);
    await roundTrips(2);
    db = s.install.sync(s.network, db, memberGroups(s, db.inboxId));
  }
  const rows = Object.keys(db.groups)
    .map((id) => s.network.group(id))
    .filter((g): g is Group => g !== null)
    .map((g) => ({
      conversationId: g.id,
      kind: "group" as const,
      name: g.name,
      createdAt: g.createdAt,
      memberCount: g.members.length,
      isActive: isMember(g, db.inboxId),
      isLocked: g.addMemberPolicy === "deny",
    }))
    .filter((r) => bool(s.flags, "include-inactive") || r.isActive);
  const result: ListResult = rows.length > 0 ? rows : { message: "No conversations found. Create one with: convos conversations create", count: 0 };
  output(s, result);
}

// commands/conversation/messages.js
export async function conversationMessages(s: Session): Promise<void> {
  const { db } = await connect(s);
  const group = knownGroup(s, db.inboxId, s.args[0]!);
  if (bool(s.flags, "sync")) await roundTrips(1);
  const bigint = (name: string) => {
    const v = str(s.flags, name);
    if (v === undefined) return undefined;
    try {
      return BigInt(v);
    } catch {
      throw commandError(`Invalid value for --${name}: must be a numeric string`);
    }
  };
  const after = bigint("sent-after");
  const beforeNs = bigint("sent-before");
  const joinedAt = BigInt(db.groups[group.id]!.joinedAtNs);
  const all = s.network.messages(group.id);
  const names = profileNames(all);
  let visible = all.filter((m) => BigInt(m.sentAtNs) >= joinedAt - 1_000_000_000n);
  if (after !== undefined) visible = visible.filter((m) => BigInt(m.sentAtNs) > after);
  if (beforeNs !== undefined) visible = visible.filter((m) => BigInt(m.sentAtNs) < beforeNs);
  if (str(s.flags, "direction") !== "ascending") visible.reverse();
  const limit = str(s.flags, "limit");
  if (limit !== undefined) visible = visible.slice(0, Number(limit));
  const result: MessagesResult = visible.map((m) => messageRow(m, names, all));
  output(s, result);
}

// commands/conversation/download-attachment.js
export async function conversationDownloadAttachment(s: Session): Promise<void> {
  const { db } = await connect(s);
  const group = knownGroup(s, db.inboxId, s.args[0]!);
  if (bool(s.flags, "sync")) await roundTrips(1);
  const messageId = s.args[1]!;
  const found = s.network.messages(group.id).find((m) => m.id === messageId);
  if (!found) throw commandError(`Message not found: ${messageId}. Try --sync to fetch latest messages.`);
  const c = found.content;
  if (c.kind !== "attachment" && c.kind !== "remote_attachment") throw commandError(`Message ${messageId} is not an attachment (type: ${found.contentType.typeId})`);
  const target = (name: string) => (path.isAbsolute(name) ? name : path.join(process.cwd(), name));
  const write = (file: string, bytes: Buffer) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
  };
  const bytes = s.network.blob(c.blob);
  if (!bytes) throw thrown("fetch failed");
  const fallbackName = `${messageId.slice(0, 16)}${getExtension(c.mimeType)}`;
  let result: DownloadAttachmentResult;
  if (c.kind === "attachment") {
    const outputPath = target(str(s.flags, "output") ?? c.filename ?? fallbackName);
    write(outputPath, bytes);
    result = { success: true, type: "inline", outputPath, ...(c.filename && { filename: c.filename }), mimeType: c.mimeType, size: bytes.length };
  } else {
    if (s.control().networkDown) throw thrown("fetch failed");
    await roundTrips(1);
    if (bool(s.flags, "raw")) {
      const outputPath = target(str(s.flags, "output") ?? `${c.filename ?? messageId.slice(0, 16)}.encrypted`);
      write(outputPath, bytes);
      result = { success: true, type: "remote-raw", outputPath, url: c.url, size: bytes.length };
    } else {
      const outputPath = target(str(s.flags, "output") ?? c.filename ?? fallbackName);
      write(outputPath, bytes);
      result = { success: true, type: "remote", outputPath, ...(c.filename && { filename: c.filename }), mimeType: c.mimeType, size: bytes.length, url: c.url };
    }
  }
  output(s, result);
}

// commands/conversation/invite.js: the current invite (the tag rotates on lock/unlock).
export async function conversationInvite(s: Session): Promise<void> {
  const { identity, db } = await connect(s);
  const group = knownGroup(s, db.inboxId, s.args[0]!);
  const expiresIn = str(s.flags, "expires-in");
  const expiresAt = expiresIn ? new Date(Date.now() + Number(expiresIn) * 1000) : undefined;
  const invite = await makeInvite(group, db.inboxId, identity.walletKey, s.env, {
    ...(expiresAt && { expiresAt }),
    expiresAfterUse: bool(s.flags, "single-use"),
    includeMetadata: s.flags["include-metadata"] !== false,
  });
  const result: InviteResult = {
    conversationId: group.id,
    slug: invite.slug,
    url: invite.url,
    tag: invite.tag,
    env: s.env,
    expiresAt: expiresAt?.toISOString() ?? null,
    singleUse: bool(s.flags, "single-use"),
  };
  output(s, result);
}
