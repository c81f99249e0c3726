// What the agent knows of its one conversation, kept up to date from the `agent serve`
// events: the conversation's name, the members' display names, its own inbox/name and the
// ids of the messages it sent (so replies and reactions to them can be recognised).
import type { RoomFacts, RoomMessage } from "./room-policy.ts";

const MAX_OWN_IDS = 2000;

/** One change a group-update description announces (utils/xmtp.js describeGroupUpdated). */
export type GroupChange =
  | { kind: "renamed"; name: string }
  | { kind: "joined"; member: string }
  | { kind: "left"; member: string };

/** Reads the CLI's human descriptions ("A added B; B left the group; A changed group name to "X""). */
export function parseGroupUpdate(description: string): GroupChange[] {
  const changes: GroupChange[] = [];
  for (const part of description.split("; ")) {
    let m: RegExpExecArray | null;
    if ((m = /^.+? changed group name to "(.*)"$/su.exec(part))) changes.push({ kind: "renamed", name: m[1]! });
    else if ((m = /^(.+?) joined by invite$/su.exec(part))) changes.push({ kind: "joined", member: m[1]! });
    else if ((m = /^(.+?) left the group$/su.exec(part))) changes.push({ kind: "left", member: m[1]! });
    else if (/ as (super )?admin$| their profile( name| photo)?$/u.test(part)) continue;
    else if ((m = /^.+? removed (.+)$/su.exec(part))) changes.push({ kind: "left", member: m[1]! });
    else if ((m = /^.+? added (.+)$/su.exec(part))) changes.push({ kind: "joined", member: m[1]! });
  }
  return changes;
}

export class RoomState {
  conversationName: string | null = null;
  selfInboxId: string | null = null;
  selfName: string | null;
  private readonly own = new Set<string>();
  /** inbox id → display name (null until known); names announced without an id are keyed "name:<n>". */
  private readonly members = new Map<string, string | null>();

  constructor(init: { selfName?: string | null; conversationName?: string | null } = {}) {
    this.selfName = init.selfName ?? null;
    this.conversationName = init.conversationName ?? null;
  }

  facts(): RoomFacts {
    return {
      selfInboxId: this.selfInboxId,
      selfName: this.selfName,
      ownMessageIds: this.own,
      memberIds: new Set([...this.members.keys()].filter((k) => !k.startsWith("name:"))),
    };
  }

  /** Display names of the other members, as the model sees them. */
  memberNames(): string[] {
    return [...new Set([...this.members.values()].filter((n): n is string => Boolean(n)))].sort((a, b) => a.localeCompare(b));
  }

  ready(event: { inboxId: string; name: string }): void {
    this.selfInboxId = event.inboxId;
    if (event.name) this.conversationName = event.name;
  }

  rememberOwn(messageId: string): void {
    this.own.add(messageId);
    if (this.own.size > MAX_OWN_IDS) this.own.delete(this.own.values().next().value as string);
  }

  member(inboxId: string, name: string | null | undefined): void {
    if (inboxId === this.selfInboxId) {
      if (name) this.selfName = name;
      return;
    }
    const known = this.members.get(inboxId);
    this.members.set(inboxId, name || known || null);
    if (name) this.members.delete(`name:${name}`);
  }

  /** Feeds one inbound message: senders become known members, group updates change the room. */
  observe(msg: RoomMessage): GroupChange[] {
    this.member(msg.senderId, msg.senderName);
    if (msg.kind !== "group_update") return [];
    const changes = parseGroupUpdate(msg.text);
    for (const change of changes) {
      if (change.kind === "renamed") this.conversationName = change.name || null;
      else if (change.kind === "joined" && change.member !== this.selfName && ![...this.members.values()].includes(change.member)) this.members.set(`name:${change.member}`, change.member);
      else if (change.kind === "left") for (const [key, name] of this.members) if (name === change.member) this.members.delete(key);
    }
    return changes;
  }
}
