// Stored messages rendered the way the real CLI renders them: utils/xmtp.js
// normalizeMessageContent()/describeGroupUpdated() for `content`, utils/remoteAttachment.js
// for remoteAttachment, commands/agent/serve.js for which content types become which event.
import type { MessageEvent, MessageRow, ServeEvent } from "../../plugins/convos/src/cli-protocol.ts";
import type { Network, StoredMessage } from "./network.ts";

const DELIVERY_PUBLISHED = 1;

/** inboxId → display name, from the profile updates in the log (resolveProfilesFromMessages). */
export function profileNames(messages: StoredMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of messages) {
    if (m.content.kind === "profile_update" && m.content.name) names.set(m.senderInboxId.toLowerCase(), m.content.name);
  }
  return names;
}

const nameOf = (inboxId: string, names: Map<string, string>) => names.get(inboxId.toLowerCase()) ?? "Somebody";

export function normalizedContent(message: StoredMessage, names: Map<string, string>, all: StoredMessage[] = []): string {
  const c = message.content;
  switch (c.kind) {
    case "text":
      return c.text;
    case "reply": {
      const parent = all.find((m) => m.id === c.reference);
      const parentText = parent ? normalizedContent(parent, names) : undefined;
      return `reply to ${parentText ? `"${parentText}" (${c.reference})` : c.reference}: ${c.text}`;
    }
    case "reaction":
      return `${c.action === "removed" ? "removed" : "reacted"} ${c.emoji} to ${c.reference}`;
    case "group_updated": {
      const initiator = nameOf(c.initiatedByInboxId, names);
      const parts: string[] = [];
      for (const id of c.added) parts.push(id === c.initiatedByInboxId ? `${nameOf(id, names)} joined by invite` : `${initiator} added ${nameOf(id, names)}`);
      for (const id of c.removed) parts.push(`${initiator} removed ${nameOf(id, names)}`);
      for (const id of c.left) parts.push(`${nameOf(id, names)} left the group`);
      for (const f of c.fieldChanges) {
        if (f.fieldName === "app_data")
          parts.push(`${initiator} ${f.newValue}`); // newValue: the described change
        else parts.push(f.newValue ? `${initiator} changed ${f.fieldName.replace(/_/gu, " ")} to "${f.newValue}"` : `${initiator} cleared ${f.fieldName.replace(/_/gu, " ")}`);
      }
      return parts.join("; ");
    }
    case "attachment":
      return `[attachment: ${c.filename || "unnamed"} (${c.mimeType})]`;
    case "remote_attachment":
      return `[remote attachment: ${c.filename || "unnamed"} (${c.contentLength} bytes) ${c.url}]`;
    default: {
      // Fallback of normalizeMessageContent: the decoded content, stringified.
      const { kind: _kind, ...rest } = c;
      return JSON.stringify(rest);
    }
  }
}

/** `conversation messages` rows: every message, own and silent ones included. */
export function messageRow(message: StoredMessage, names: Map<string, string>, all: StoredMessage[]): MessageRow {
  return {
    id: message.id,
    senderInboxId: message.senderInboxId,
    contentType: message.contentType,
    content: normalizedContent(message, names, all),
    sentAt: message.sentAt,
    deliveryStatus: DELIVERY_PUBLISHED,
  };
}

/**
 * What `agent serve` prints for a message from another member (startMessageStream /
 * catchUpMessages → routeConvosContentType), or null for what it drops.
 */
export function serveEventFor(message: StoredMessage, conversationId: string, network: Network, catchup: boolean): ServeEvent | null {
  const c = message.content;
  const flag = catchup ? { catchup: true as const } : {};
  switch (c.kind) {
    case "typing":
      return catchup ? null : { event: "typing", senderInboxId: message.senderInboxId, isTyping: c.isTyping, conversationId, timestamp: message.sentAt };
    case "read_receipt":
      return null; // serve.js matches "read_receipt", the bindings say "readReceipt"
    case "explode_settings":
      return { event: "explode_notice", conversationId, senderInboxId: message.senderInboxId, expiresAt: c.expiresAt, sentAt: message.sentAt, ...flag };
    case "profile_update":
      return {
        event: "profile_update",
        id: message.id,
        senderInboxId: message.senderInboxId,
        conversationId,
        ...(c.name !== undefined && { name: c.name }),
        ...(c.memberKind !== undefined && { memberKind: c.memberKind }),
        ...(c.metadata && Object.keys(c.metadata).length > 0 && { metadata: c.metadata as never }),
        sentAt: message.sentAt,
        ...flag,
      };
    case "thinking":
      return {
        event: "thinking",
        id: message.id,
        senderInboxId: message.senderInboxId,
        conversationId,
        state: c.state,
        targetMessageId: c.targetMessageId,
        content: c.content,
        ...(c.resultMessageId && { resultMessageId: c.resultMessageId }),
        sentAt: message.sentAt,
        ...flag,
      };
    default: {
      const all = network.messages(conversationId);
      const names = profileNames(all);
      const senderName = names.get(message.senderInboxId.toLowerCase());
      const event: MessageEvent = {
        event: "message",
        id: message.id,
        senderInboxId: message.senderInboxId,
        ...(senderName && { senderProfile: { name: senderName } }),
        contentType: message.contentType,
        content: normalizedContent(message, names, all),
        ...(c.kind === "remote_attachment" && {
          remoteAttachment: {
            url: c.url,
            contentDigest: c.contentDigest,
            scheme: c.scheme,
            secret: c.secret,
            salt: c.salt,
            nonce: c.nonce,
            contentLength: c.contentLength,
            ...(c.filename && { filename: c.filename }),
          },
        }),
        sentAt: message.sentAt,
        deliveryStatus: DELIVERY_PUBLISHED,
        ...flag,
      };
      return event;
    }
  }
}
