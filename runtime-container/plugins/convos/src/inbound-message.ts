// One inbound Convos message as the agent side sees it, whatever its content type. The real
// CLI hands every message over as a display string (`content`, from normalizeMessageContent
// in @xmtp/convos-cli dist/utils/xmtp.js) plus the XMTP content type; the structure
// (reaction target, reply parent, group changes) is read back out of that string here, in
// the exact formats that function writes. Both the live `agent serve` `message` event and a
// row of `conversation messages --json` (catch-up after a restart) map to the same union.
import type { ContentTypeId, MessageEvent, MessageRow, RemoteAttachmentInfo } from "./cli-protocol.ts";

type Common = {
  conversationId: string;
  messageId: string;
  senderId: string;
  /** The sender's Convos profile name when the CLI knows it (live events only). */
  senderName: string | null;
  /** The CLI's display text for the message (what a person would read in a log). */
  body: string;
  timestamp: Date;
  /** The XMTP content type id, e.g. "text", "reply", "reaction", "group_updated". */
  contentType: string;
  /** Fetched after a restart rather than streamed live. */
  catchup: boolean;
};

export type TextMessage = Common & { kind: "text"; text: string };
export type ReplyMessage = Common & { kind: "reply"; text: string; inReplyTo: string; quoted: string | null };
export type ReactionMessage = Common & { kind: "reaction"; emoji: string; action: "add" | "remove"; targetMessageId: string };
/** `conversation download-attachment <conversationId> <messageId>` fetches (and decrypts) it. */
export type AttachmentMessage = Common & {
  kind: "attachment";
  source: "inline" | "remote";
  filename: string | null;
  mimeType: string | null;
  /** Bytes (for remote attachments: of the encrypted payload, as the sender declared it). */
  size: number | null;
  remote: RemoteAttachmentInfo | null;
  download: { conversationId: string; messageId: string };
};
export type GroupUpdateMessage = Common & {
  kind: "group_update";
  /** Every change the CLI described, in its words ("Maya added Sam", …). */
  changes: string[];
  /** Display names ("Somebody" when the CLI has no profile for the member). */
  membersAdded: string[];
  membersRemoved: string[];
  membersLeft: string[];
  nameChangedTo: string | null;
  descriptionChangedTo: string | null;
};
export type OtherMessage = Common & { kind: "other" };

export type InboundMessage = TextMessage | ReplyMessage | ReactionMessage | AttachmentMessage | GroupUpdateMessage | OtherMessage;
export type InboundKind = InboundMessage["kind"];

// The content types `agent serve` lets through to `message` events (isDisplayableMessage,
// dist/utils/xmtp.js); catch-up rows are filtered to the same set so a restart does not
// surface profile updates, read receipts or typing indicators as messages.
const DISPLAYABLE = new Set(["text", "markdown", "group_updated", "reaction", "reply", "attachment", "remoteStaticAttachment", "multiRemoteStaticAttachment"]);

export function isDisplayableContentType(ct: ContentTypeId): boolean {
  return ct.authorityId === "xmtp.org" && DISPLAYABLE.has(ct.typeId);
}

// Message ids are hex in XMTP; the ids in the CLI's strings never contain spaces or parens.
const ID = String.raw`[^\s()"]+`;
const REACTION = new RegExp(String.raw`^(reacted|removed) ([\s\S]+) to (${ID})$`, "u");
const REPLY_QUOTED = new RegExp(String.raw`^reply to "([\s\S]*?)" \((${ID})\): ([\s\S]*)$`, "u");
const REPLY_BARE = new RegExp(String.raw`^reply to (${ID}): ([\s\S]*)$`, "u");
const INLINE_ATTACHMENT = /^\[attachment: ([\s\S]+) \(([^()]*)\)\]$/u;
const REMOTE_ATTACHMENT = /^\[remote attachment: ([\s\S]+) \((\d+|undefined|null) bytes\) (\S+)\]$/u;

function common(conversationId: string, src: MessageEvent | MessageRow, senderName: string | null, catchup: boolean): Common {
  const sentAt = new Date(src.sentAt);
  return {
    conversationId,
    messageId: src.id,
    senderId: src.senderInboxId,
    senderName,
    body: src.content,
    timestamp: Number.isNaN(sentAt.getTime()) ? new Date() : sentAt,
    contentType: src.contentType.typeId,
    catchup,
  };
}

function describeGroupUpdate(base: Common): GroupUpdateMessage {
  const changes = base.body
    .split("; ")
    .map((c) => c.trim())
    .filter(Boolean);
  const out: GroupUpdateMessage = { ...base, kind: "group_update", changes, membersAdded: [], membersRemoved: [], membersLeft: [], nameChangedTo: null, descriptionChangedTo: null };
  for (const change of changes) {
    // describeGroupUpdated: "<name> joined by invite", "<initiator> added <name>",
    // "<initiator> removed <name>", "<name> left the group",
    // `<initiator> changed group name to "<name>"`, `<initiator> changed description to "<d>"`.
    const captured = (re: RegExp): string | undefined => change.match(re)?.[1];
    const joined = captured(/^(.+) joined by invite$/u);
    const left = joined === undefined ? captured(/^(.+) left the group$/u) : undefined;
    const renamed = captured(/ changed group name to "([\s\S]*)"$/u);
    const described = captured(/ changed description to "([\s\S]*)"$/u);
    if (joined !== undefined) out.membersAdded.push(joined);
    else if (left !== undefined) out.membersLeft.push(left);
    else if (renamed !== undefined) out.nameChangedTo = renamed;
    else if (described !== undefined) out.descriptionChangedTo = described;
    else if (/ removed .+ as (super )?admin$/u.test(change) || / made .+ an? (super )?admin$/u.test(change)) continue;
    else {
      const added = captured(/^.+? added (.+)$/u);
      const removed = added === undefined ? captured(/^.+? removed (.+)$/u) : undefined;
      if (added !== undefined) out.membersAdded.push(added);
      else if (removed !== undefined) out.membersRemoved.push(removed);
    }
  }
  return out;
}

function classify(base: Common, remote: RemoteAttachmentInfo | undefined): InboundMessage {
  const body = base.body;
  switch (base.contentType) {
    case "text":
    case "markdown":
      return { ...base, kind: "text", text: body };
    case "reaction": {
      const m = body.match(REACTION);
      if (!m) break;
      return { ...base, kind: "reaction", action: m[1] === "removed" ? "remove" : "add", emoji: m[2]!, targetMessageId: m[3]! };
    }
    case "reply": {
      const quoted = body.match(REPLY_QUOTED);
      if (quoted) return { ...base, kind: "reply", quoted: quoted[1]!, inReplyTo: quoted[2]!, text: quoted[3]! };
      const bare = body.match(REPLY_BARE);
      if (bare) return { ...base, kind: "reply", quoted: null, inReplyTo: bare[1]!, text: bare[2]! };
      break;
    }
    case "attachment": {
      const m = body.match(INLINE_ATTACHMENT);
      return {
        ...base,
        kind: "attachment",
        source: "inline",
        filename: m && m[1] !== "unnamed" ? m[1]! : null,
        mimeType: m?.[2] || null,
        size: null,
        remote: null,
        download: { conversationId: base.conversationId, messageId: base.messageId },
      };
    }
    case "remoteStaticAttachment": {
      const m = body.match(REMOTE_ATTACHMENT);
      const declared = remote?.contentLength ?? (m && /^\d+$/u.test(m[2]!) ? Number(m[2]) : null);
      const filename = remote?.filename ?? (m && m[1] !== "unnamed" ? m[1]! : null);
      return {
        ...base,
        kind: "attachment",
        source: "remote",
        filename,
        mimeType: null,
        size: declared ?? null,
        remote: remote ?? null,
        download: { conversationId: base.conversationId, messageId: base.messageId },
      };
    }
    case "group_updated":
      return describeGroupUpdate(base);
    default:
      break;
  }
  return { ...base, kind: "other" };
}

/** A live `message` event of `agent serve` (dist/commands/agent/serve.js startMessageStream). */
export function fromServeMessage(conversationId: string, event: MessageEvent): InboundMessage {
  const base = common(conversationId, event, event.senderProfile?.name ?? null, event.catchup === true);
  return classify(base, event.remoteAttachment);
}

/** A row of `conversation messages <id> --json` (dist/commands/conversation/messages.js). */
export function fromMessageRow(conversationId: string, row: MessageRow): InboundMessage {
  return classify(common(conversationId, row, null, true), undefined);
}
