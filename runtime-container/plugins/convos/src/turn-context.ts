// What reaches the model with every turn, in OpenClaw's own inbound-context fields: the
// agent's name and its owner's instructions as the group system prompt (trusted, every
// turn), the conversation's name and members as group metadata (untrusted, member-written),
// the reply target, and the code's addressing decision plus the current time as structured
// context for the current message.
import fs from "node:fs";
import path from "node:path";
import { describeAddressing, type TurnDecision } from "./room-policy.ts";
import type { InboundMessage } from "./inbound-message.ts";

/** The owner's instructions for this chat (written by the create/join routes), if any. */
export function readInstructions(workspaceDir: string | undefined): string | null {
  if (!workspaceDir) return null;
  try {
    return fs.readFileSync(path.join(workspaceDir, "INSTRUCTIONS.md"), "utf8");
  } catch {
    return null;
  }
}

export type TurnRoom = { selfName: string | null; conversationName: string | null; memberNames: string[] };

/** The agent's standing brief for this chat: who it is and what its owner asked of it. */
export function groupSystemPrompt(selfName: string | null, instructions: string | null): string {
  const lines = [
    selfName ? `Your name in this Convos group chat is "${selfName}". Members address you by that name or by replying to your messages.` : "You are the AI agent in this Convos group chat.",
    "What you send reaches the Convos app as plain text: no markdown rendering.",
  ];
  const brief = instructions?.trim();
  if (brief) {
    lines.push("The person who set you up for this chat gave you these instructions (INSTRUCTIONS.md in your workspace). Follow them first, after safety:", "<instructions>", brief, "</instructions>");
  }
  return lines.join("\n");
}

/** Inbound-context fields for one turn (merged into the base fields of inbound-dispatch). */
export function turnContextFields(p: { msg: InboundMessage; decision: TurnDecision; room: TurnRoom; instructions: string | null; now: Date }): Record<string, unknown> {
  const { msg, decision, room } = p;
  const subject = room.conversationName?.trim() || "Convos group";
  const members = room.memberNames.length ? room.memberNames.join(", ") : undefined;
  const turn: Record<string, unknown> = { addressing: describeAddressing(decision), current_time: p.now.toISOString() };
  if (msg.kind === "reaction") turn.reaction = { emoji: msg.emoji, to_message_id: msg.targetMessageId, on_your_message: decision.turn && decision.reason === "reaction_to_agent" };
  const repliesToAgent = decision.turn && decision.reason === "reply_to_agent";
  return {
    GroupSubject: subject,
    ConversationLabel: subject,
    GroupMembers: members ? `${members}${room.selfName ? ` (and you, ${room.selfName})` : ""}` : undefined,
    GroupSystemPrompt: groupSystemPrompt(room.selfName, p.instructions),
    // Informational only: WasMentioned stays unset, because OpenClaw makes a reply to a
    // mention mandatory and a reaction or silence is sometimes the right answer here.
    ExplicitlyMentionedBot: decision.turn && decision.reason === "names_agent" ? true : undefined,
    ImplicitMentionKinds: repliesToAgent ? ["reply_to_bot"] : undefined,
    ...(msg.kind === "reply" ? { ReplyToId: msg.inReplyTo, ReplyToBody: msg.quoted ?? undefined, ReplyToSender: repliesToAgent ? `you (${room.selfName ?? "agent"})` : undefined } : {}),
    ChannelStructuredContext: [{ label: "Convos turn", source: "convos", type: "turn", payload: turn }],
  };
}
