// Reads one inbound Convos message into the facts the room policy and the turn context use.
// The CLI renders every content type into `content` (utils/xmtp.js normalizeMessageContent);
// the formats are documented beside MessageEvent in cli-protocol.ts.
import type { InboundMessage } from "./convos-service.ts";
import type { RoomMessage } from "./room-policy.ts";
import type { DeclaredAttachment } from "./attachments.ts";

export type ParsedInbound = RoomMessage & {
  /** The replied-to message's text as the CLI quoted it, when it did. */
  quoted?: string | null;
  emoji?: string;
  attachment?: DeclaredAttachment;
};

const REPLY = /^reply to (?:"([\s\S]*)" \(([^()\s]+)\)|([^\s:]+)): ([\s\S]*)$/u;
const REACTION = /^(reacted|removed) (.+) to (\S+)$/u;
const INLINE_ATTACHMENT = /^\[attachment: ([\s\S]*) \(([^()]*)\)\]$/u;
const REMOTE_ATTACHMENT = /^\[remote attachment: ([\s\S]*) \((\d+) bytes\) \S+\]$/u;

export function parseInbound(msg: InboundMessage): ParsedInbound {
  const base = { messageId: msg.messageId, senderId: msg.senderId, senderName: msg.senderName, text: msg.body };
  const type = msg.contentType;
  let m: RegExpExecArray | null;
  if (type === "group_updated") return { ...base, kind: "group_update" };
  if (type === "reaction" && (m = REACTION.exec(msg.body))) {
    return { ...base, kind: "reaction", text: "", emoji: m[2]!, referenceId: m[3]!, removed: m[1] === "removed" };
  }
  if (type === "reply" && (m = REPLY.exec(msg.body))) {
    return { ...base, kind: "reply", text: m[4]!, referenceId: m[2] ?? m[3]!, quoted: m[1] ?? null };
  }
  if (type === "attachment" && (m = INLINE_ATTACHMENT.exec(msg.body))) {
    return { ...base, kind: "attachment", text: "", attachment: { filename: m[1] === "unnamed" ? null : m[1]!, mimeType: m[2] || null, bytes: null } };
  }
  if (type === "remoteStaticAttachment" && (m = REMOTE_ATTACHMENT.exec(msg.body))) {
    return { ...base, kind: "attachment", text: "", attachment: { filename: m[1] === "unnamed" ? null : m[1]!, mimeType: null, bytes: Number(m[2]) } };
  }
  if (type === "text" || type === "markdown") return { ...base, kind: "text" };
  return { ...base, kind: "other" };
}
