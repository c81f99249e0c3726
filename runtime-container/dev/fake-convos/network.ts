// The model's XMTP network: what every install (convos home) sees alike — groups, their
// members and permissions, the message log, join requests, attachment blobs. A directory
// (FAKE_CONVOS_NETWORK_DIR, default <home>/fake-network) so separate processes share it like
// the real network; point two homes at one directory to let two installs meet.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { ContentTypeId } from "../../plugins/convos/src/cli-protocol.ts";

export type Role = "super_admin" | "admin" | "member";
export type Member = { inboxId: string; role: Role; addedAt: string };
export type AppData = { tag?: string; emoji?: string; expiresAtUnix?: number };

export type Group = {
  id: string;
  name: string;
  description: string;
  imageUrl: string;
  createdAt: string;
  creatorInboxId: string;
  permissions: "all-members" | "admin-only";
  addMemberPolicy: "allow" | "deny";
  appData: AppData;
  members: Member[];
};

/** Decoded content as the SDK hands it to the CLI, per content type. */
export type Content =
  | { kind: "text"; text: string }
  | { kind: "reply"; reference: string; text: string }
  | { kind: "reaction"; reference: string; action: "added" | "removed"; emoji: string }
  | { kind: "group_updated"; initiatedByInboxId: string; added: string[]; removed: string[]; left: string[]; fieldChanges: { fieldName: string; oldValue: string; newValue: string }[] }
  | { kind: "attachment"; filename?: string; mimeType: string; blob: string; size: number }
  | {
      kind: "remote_attachment";
      url: string;
      filename?: string;
      contentLength: number;
      contentDigest: string;
      secret: string;
      salt: string;
      nonce: string;
      scheme: string;
      blob: string;
      mimeType: string;
    }
  | { kind: "explode_settings"; expiresAt: string }
  | { kind: "profile_update"; name?: string; memberKind?: number; metadata?: Record<string, { type: string; value: unknown }> }
  | { kind: "typing"; isTyping: boolean }
  | { kind: "read_receipt" }
  | { kind: "thinking"; state: "start" | "stop"; targetMessageId: string; content: string; resultMessageId?: string };

export type StoredMessage = {
  id: string;
  senderInboxId: string;
  contentType: ContentTypeId;
  content: Content;
  sentAt: string;
  sentAtNs: string;
};

export type JoinRequest = {
  id: string;
  joinerInboxId: string;
  creatorInboxId: string;
  tag: string;
  conversationToken: string; // hex
  profileName: string | null;
  requestedAt: string;
  /** Simulated owners only: when the owner's app accepts (null: not until fake-accept). */
  acceptAt: number | null;
  state: "pending" | "accepted" | "ignored";
};

/** A member played by the model: the app owner who shares an invite, or another person. */
export type SimulatedInbox = { inboxId: string; walletKey: `0x${string}`; name: string }; // name "": no profile

export const hex = (bytes: number) => randomBytes(bytes).toString("hex");
export const nowNs = () => (BigInt(Date.now()) * 1_000_000n + BigInt(process.hrtime()[1] % 1_000_000)).toString();

/** XMTP inbox ids are 64 hex characters; the model derives one from the wallet address. */
export function inboxIdFor(address: string): string {
  return createHash("sha256").update(`inbox:${address.toLowerCase()}`).digest("hex");
}

/**
 * The install remembers its network (<home>/fake-network-dir), so a later command without
 * FAKE_CONVOS_NETWORK_DIR — fake-inject from a person's shell — still reaches it.
 */
export function networkDir(home: string, env: NodeJS.ProcessEnv = process.env): string {
  const pointer = path.join(home, "fake-network-dir");
  if (env.FAKE_CONVOS_NETWORK_DIR) {
    const dir = path.resolve(env.FAKE_CONVOS_NETWORK_DIR);
    let known = "";
    try {
      known = fs.readFileSync(pointer, "utf8").trim();
    } catch {
      // first use
    }
    if (known !== dir) {
      fs.mkdirSync(home, { recursive: true });
      fs.writeFileSync(pointer, dir + "\n");
    }
    return dir;
  }
  try {
    return fs.readFileSync(pointer, "utf8").trim();
  } catch {
    return path.join(home, "fake-network");
  }
}

export class Network {
  readonly dir: string;
  constructor(home: string, env: NodeJS.ProcessEnv = process.env) {
    this.dir = networkDir(home, env);
  }

  private file(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  private readJson<T>(file: string): T | null {
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as T;
    } catch {
      return null;
    }
  }

  private writeJson(file: string, value: unknown): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${hex(4)}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2));
    fs.renameSync(tmp, file);
  }

  group(id: string): Group | null {
    return this.readJson<Group>(this.file("groups", `${id}.json`));
  }

  saveGroup(group: Group): void {
    this.writeJson(this.file("groups", `${group.id}.json`), group);
  }

  updateGroup(id: string, change: (g: Group) => void): Group {
    const group = this.group(id);
    if (!group) throw new Error(`group ${id} is not in the model's network`);
    change(group);
    this.saveGroup(group);
    return group;
  }

  logFile(groupId: string): string {
    return this.file("groups", `${groupId}.messages.ndjson`);
  }

  append(groupId: string, senderInboxId: string, contentType: ContentTypeId, content: Content, id = hex(32)): StoredMessage {
    const message: StoredMessage = { id, senderInboxId, contentType, content, sentAt: new Date().toISOString(), sentAtNs: nowNs() };
    fs.mkdirSync(path.dirname(this.logFile(groupId)), { recursive: true });
    fs.appendFileSync(this.logFile(groupId), JSON.stringify(message) + "\n");
    return message;
  }

  messages(groupId: string): StoredMessage[] {
    let text = "";
    try {
      text = fs.readFileSync(this.logFile(groupId), "utf8");
    } catch {
      return [];
    }
    return text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as StoredMessage);
  }

  message(id: string): { groupId: string; message: StoredMessage } | null {
    let files: string[] = [];
    try {
      files = fs.readdirSync(this.file("groups")).filter((f) => f.endsWith(".messages.ndjson"));
    } catch {
      return null;
    }
    for (const f of files) {
      const groupId = f.slice(0, -".messages.ndjson".length);
      const found = this.messages(groupId).find((m) => m.id === id);
      if (found) return { groupId, message: found };
    }
    return null;
  }

  putBlob(bytes: Buffer): string {
    const sha = createHash("sha256").update(bytes).digest("hex");
    fs.mkdirSync(this.file("blobs"), { recursive: true });
    fs.writeFileSync(this.file("blobs", sha), bytes);
    return sha;
  }

  blob(sha: string): Buffer | null {
    try {
      return fs.readFileSync(this.file("blobs", sha));
    } catch {
      return null;
    }
  }

  simulated(inboxId: string): SimulatedInbox | null {
    return this.readJson<SimulatedInbox>(this.file("simulated", `${inboxId}.json`));
  }

  saveSimulated(inbox: SimulatedInbox): void {
    this.writeJson(this.file("simulated", `${inbox.inboxId}.json`), inbox);
  }

  joinRequests(): JoinRequest[] {
    return this.readJson<JoinRequest[]>(this.file("join-requests.json")) ?? [];
  }

  updateJoinRequests(change: (requests: JoinRequest[]) => void): JoinRequest[] {
    const requests = this.joinRequests();
    change(requests);
    this.writeJson(this.file("join-requests.json"), requests);
    return requests;
  }

  /** Groups whose invite was signed by `creatorInboxId`, newest first. */
  groupsCreatedBy(creatorInboxId: string): Group[] {
    let files: string[] = [];
    try {
      files = fs.readdirSync(this.file("groups")).filter((f) => f.endsWith(".json"));
    } catch {
      return [];
    }
    return files
      .map((f) => this.group(f.slice(0, -".json".length)))
      .filter((g): g is Group => g !== null && g.creatorInboxId === creatorInboxId)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }
}

export function isMember(group: Group, inboxId: string): boolean {
  return group.members.some((m) => m.inboxId === inboxId);
}

export function roleOf(group: Group, inboxId: string): Role | null {
  return group.members.find((m) => m.inboxId === inboxId)?.role ?? null;
}

/** libxmtp's default policies: "all-members" lets members edit metadata; admin-only does not. */
export function mayUpdateMetadata(group: Group, inboxId: string): boolean {
  const role = roleOf(group, inboxId);
  if (!role) return false;
  return group.permissions === "all-members" || role !== "member";
}

export const mayRemoveMembers = (group: Group, inboxId: string) => {
  const role = roleOf(group, inboxId);
  return role === "admin" || role === "super_admin";
};
export const mayUpdatePermissions = (group: Group, inboxId: string) => roleOf(group, inboxId) === "super_admin";
export const mayAddMembers = (group: Group, inboxId: string) => group.addMemberPolicy === "allow" && (group.permissions === "all-members" || roleOf(group, inboxId) !== "member");
