// What the agent knows of its one conversation, kept up to date from the `agent serve`
// events: the conversation's name, the members' display names, its own inbox/name and the
// ids of the messages it sent (so replies and reactions to them can be recognised).
import type { InboundMessage } from "./inbound-message.ts";
import { readJson, writeJsonAtomic } from "./json-file.ts";
import type { RoomFacts } from "./room-policy.ts";

// Enough to recognise replies and reactions to anything recent; the file stays ~30 KB.
const MAX_OWN_IDS = 500;
const UNNAMED = "Somebody";

export class RoomState {
  conversationName: string | null = null;
  selfInboxId: string | null = null;
  selfName: string | null;
  private readonly own = new Set<string>();
  /** inbox id → display name (null until known); names announced without an id are keyed "name:<n>". */
  private readonly members = new Map<string, string | null>();

  /** Where the ids of the agent's own messages are kept, so a restart still knows them. */
  private readonly ownFile: string | null;

  constructor(init: { selfName?: string | null; conversationName?: string | null; ownMessagesFile?: string } = {}) {
    this.selfName = init.selfName ?? null;
    this.conversationName = init.conversationName ?? null;
    this.ownFile = init.ownMessagesFile ?? null;
    const saved = this.ownFile ? readJson(this.ownFile) : undefined;
    if (Array.isArray(saved)) for (const id of saved) if (typeof id === "string") this.own.add(id);
  }

  facts(): RoomFacts {
    return {
      selfInboxId: this.selfInboxId,
      selfName: this.selfName,
      ownMessageIds: this.own,
      // Members known only by name (announced by a group update) count as people too.
      memberIds: new Set(this.members.keys()),
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
    if (this.own.has(messageId)) return;
    this.own.add(messageId);
    if (this.own.size > MAX_OWN_IDS) this.own.delete(this.own.values().next().value as string);
    if (this.ownFile) writeJsonAtomic(this.ownFile, [...this.own]);
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
  observe(msg: InboundMessage): void {
    this.member(msg.senderId, msg.senderName);
    if (msg.kind !== "group_update") return;
    if (msg.nameChangedTo !== null) this.conversationName = msg.nameChangedTo || null;
    const known = new Set(this.members.values());
    // "Somebody" is the CLI's word for a member without a profile: nothing to match them by.
    for (const name of msg.membersAdded) if (name !== this.selfName && name !== UNNAMED && !known.has(name)) this.members.set(`name:${name}`, name);
    const gone = new Set([...msg.membersRemoved, ...msg.membersLeft]);
    for (const [key, name] of this.members) if (name && gone.has(name)) this.members.delete(key);
  }
}
