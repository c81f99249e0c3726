// What in a group chat is a turn for the agent, and whether it is addressed to it: plain
// decisions over data (no I/O), so the policy the README documents is the policy tested.
//
// Policy:
//   - group updates (members added/removed/renamed, …) are never turns: they only update what
//     the agent knows of the room (RoomState);
//   - reactions are turns only when they land on one of the agent's own messages (and are not
//     a removal); reactions between other members are not;
//   - a reply to one of the agent's messages, a message that names the agent, or any message
//     when the agent is alone with one person is ADDRESSED: the agent acknowledges it (👀)
//     and is expected to answer;
//   - every other message is an AMBIENT turn: the agent sees it and decides itself (prompt:
//     "respond when directly addressed or when context makes it obvious it should act"),
//     staying silent (NO_REPLY) otherwise.

import type { InboundMessage } from "./inbound-message.ts";

/** What the agent knows of its room when a message arrives. */
export type RoomFacts = {
  selfInboxId: string | null;
  selfName: string | null;
  /** Ids of messages the agent sent (text, reactions, attachments). */
  ownMessageIds: ReadonlySet<string>;
  /** Members other than the agent: inbox ids, or "name:<n>" for members known only by name. */
  memberIds: ReadonlySet<string>;
};

export type AddressReason = "reply_to_agent" | "names_agent" | "reaction_to_agent" | "only_person";
export type SkipReason = "group_update" | "own_message" | "reaction_between_others" | "reaction_removed" | "empty";

export type TurnDecision = { turn: false; reason: SkipReason } | { turn: true; addressed: true; reason: AddressReason } | { turn: true; addressed: false; reason: "ambient" };

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&");
}

/** True when `text` names the agent as a word ("Ava,", "@ava", "hey AVA?"), not inside another word. */
export function namesAgent(text: string, name: string | null): boolean {
  const trimmed = name?.trim();
  if (!trimmed || !text) return false;
  const pattern = new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escapeRegExp(trimmed).replace(/\s+/gu, "\\s+")}(?=$|[^\\p{L}\\p{N}_])`, "iu");
  return pattern.test(text);
}

/** The words a person wrote in the message (none for reactions, files and updates). */
export function writtenText(msg: InboundMessage): string {
  return msg.kind === "text" || msg.kind === "reply" ? msg.text : "";
}

export function decideTurn(msg: InboundMessage, room: RoomFacts): TurnDecision {
  if (room.selfInboxId && msg.senderId === room.selfInboxId) return { turn: false, reason: "own_message" };
  if (msg.kind === "group_update") return { turn: false, reason: "group_update" };
  if (msg.kind === "reaction") {
    if (msg.action === "remove") return { turn: false, reason: "reaction_removed" };
    return room.ownMessageIds.has(msg.targetMessageId) ? { turn: true, addressed: true, reason: "reaction_to_agent" } : { turn: false, reason: "reaction_between_others" };
  }
  const text = writtenText(msg);
  if (msg.kind !== "attachment" && !text.trim()) return { turn: false, reason: "empty" };
  if (msg.kind === "reply" && room.ownMessageIds.has(msg.inReplyTo)) return { turn: true, addressed: true, reason: "reply_to_agent" };
  if (namesAgent(text, room.selfName)) return { turn: true, addressed: true, reason: "names_agent" };
  // Alone with one person, everything they say is said to the agent.
  const others = new Set(room.memberIds);
  others.add(msg.senderId);
  if (room.selfInboxId) others.delete(room.selfInboxId);
  if (others.size === 1) return { turn: true, addressed: true, reason: "only_person" };
  return { turn: true, addressed: false, reason: "ambient" };
}

/** Reactions carry no question: they get no 👀 of their own. */
export function wantsAcknowledgement(msg: InboundMessage, decision: TurnDecision): boolean {
  return decision.turn && decision.addressed && msg.kind !== "reaction";
}

/** One line for the agent saying why it sees this message, so the prompt rule has the code's facts. */
export function describeAddressing(decision: TurnDecision): string {
  if (!decision.turn) return "";
  switch (decision.reason) {
    case "reply_to_agent":
      return "addressed to you: it replies to one of your messages";
    case "names_agent":
      return "addressed to you: it names you";
    case "reaction_to_agent":
      return "a reaction to one of your messages (usually needs no answer)";
    case "only_person":
      return "addressed to you: you are alone with this person in the chat";
    case "ambient":
      return "not addressed to you: answer only if context makes it obvious you should act, else NO_REPLY";
  }
}
