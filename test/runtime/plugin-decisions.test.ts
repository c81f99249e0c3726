// The convos plugin's decisions as plain functions over the real CLI's data (shapes from
// cli-protocol.ts, strings in the formats of @xmtp/convos-cli's normalizeMessageContent and
// oclif's error printer): what kind of message a member sent, which stdout line answers
// which stdin command, what a CLI failure says, where catch-up resumes.
import { describe, expect, it } from "vitest";
import { stallBoundMs } from "../../runtime-container/plugins/convos/src/agent-serve.ts";
import { CONTENT_TYPES, type ContentTypeId, type MessageEvent, type MessageRow } from "../../runtime-container/plugins/convos/src/cli-protocol.ts";
import { cliErrorMessage } from "../../runtime-container/plugins/convos/src/cli-runner.ts";
import { answerFor } from "../../runtime-container/plugins/convos/src/command-correlation.ts";
import { retryDelayMs } from "../../runtime-container/plugins/convos/src/identity-registration.ts";
import { advance, EMPTY_CURSOR, gapStart, rowsToDispatch, sentAfterNs } from "../../runtime-container/plugins/convos/src/inbound-cursor.ts";
import { fromMessageRow, fromServeMessage } from "../../runtime-container/plugins/convos/src/inbound-message.ts";
import { identityNotReady } from "../../runtime-container/src/readiness.ts";

const MAYA = "a".repeat(64);
const TARGET = "f".repeat(64);
const CONV = "c".repeat(32);

function event(contentType: ContentTypeId, content: string, extra: Partial<MessageEvent> = {}): MessageEvent {
  return { event: "message", id: "m1", senderInboxId: MAYA, senderProfile: { name: "Maya" }, contentType, content, sentAt: "2026-12-01T10:00:00.000Z", deliveryStatus: 1, ...extra };
}

describe("an inbound message by kind", () => {
  it("text keeps sender, name, id, time and the words", () => {
    expect(fromServeMessage(CONV, event(CONTENT_TYPES.text, "hi all"))).toMatchObject({
      kind: "text",
      text: "hi all",
      body: "hi all",
      senderId: MAYA,
      senderName: "Maya",
      messageId: "m1",
      conversationId: CONV,
      catchup: false,
      timestamp: new Date("2026-12-01T10:00:00.000Z"),
    });
  });

  it("a reply names the message it answers, with or without the quoted parent", () => {
    expect(fromServeMessage(CONV, event(CONTENT_TYPES.reply, `reply to "what time?" (${TARGET}): at 9: sharp`))).toMatchObject({
      kind: "reply",
      inReplyTo: TARGET,
      quoted: "what time?",
      text: "at 9: sharp",
    });
    expect(fromServeMessage(CONV, event(CONTENT_TYPES.reply, `reply to ${TARGET}: yes`))).toMatchObject({ kind: "reply", inReplyTo: TARGET, quoted: null, text: "yes" });
  });

  it("a reaction gives the emoji, add or remove, and the target message", () => {
    expect(fromServeMessage(CONV, event(CONTENT_TYPES.reaction, `reacted 👍 to ${TARGET}`))).toMatchObject({ kind: "reaction", emoji: "👍", action: "add", targetMessageId: TARGET });
    expect(fromServeMessage(CONV, event(CONTENT_TYPES.reaction, `removed ❤️ to ${TARGET}`))).toMatchObject({ kind: "reaction", emoji: "❤️", action: "remove" });
  });

  it("attachments carry filename, type, size and what download-attachment needs", () => {
    expect(fromServeMessage(CONV, event(CONTENT_TYPES.attachment, "[attachment: plan.pdf (application/pdf)]"))).toMatchObject({
      kind: "attachment",
      source: "inline",
      filename: "plan.pdf",
      mimeType: "application/pdf",
      download: { conversationId: CONV, messageId: "m1" },
    });
    const remote = { url: "https://cdn.example/x", contentDigest: "d", scheme: "https", secret: "cw==", salt: "cw==", nonce: "bg==", contentLength: 2048, filename: "photo.jpg" };
    expect(fromServeMessage(CONV, event(CONTENT_TYPES.remoteAttachment, "[remote attachment: photo.jpg (2048 bytes) https://cdn.example/x]", { remoteAttachment: remote }))).toMatchObject({
      kind: "attachment",
      source: "remote",
      filename: "photo.jpg",
      size: 2048,
      remote,
    });
    // An attachment's display text is never empty-text that gets dropped.
    expect(fromServeMessage(CONV, event(CONTENT_TYPES.attachment, "[attachment: unnamed (image/png)]"))).toMatchObject({ kind: "attachment", filename: null, mimeType: "image/png" });
  });

  it("a group update lists who came, went and what was renamed", () => {
    const msg = fromServeMessage(
      CONV,
      event(
        CONTENT_TYPES.groupUpdated,
        'Sam joined by invite; Maya added Lee; Maya removed Bob; Kim left the group; Maya changed group name to "Lisbon trip"; Maya changed description to "June"; Maya made Lee an admin',
      ),
    );
    expect(msg).toMatchObject({ kind: "group_update", membersAdded: ["Sam", "Lee"], membersRemoved: ["Bob"], membersLeft: ["Kim"], nameChangedTo: "Lisbon trip", descriptionChangedTo: "June" });
    if (msg.kind === "group_update") expect(msg.changes).toHaveLength(7);
  });

  it("anything else is 'other' with the CLI's text", () => {
    expect(fromServeMessage(CONV, event(CONTENT_TYPES.multiRemoteAttachment, "[2 attachments: a.jpg, b.jpg]"))).toMatchObject({ kind: "other", body: "[2 attachments: a.jpg, b.jpg]" });
  });

  it("a catch-up row maps the same way, marked catchup, without a sender name", () => {
    const row: MessageRow = { id: "r1", senderInboxId: MAYA, contentType: CONTENT_TYPES.reaction, content: `reacted 👀 to ${TARGET}`, sentAt: "2026-12-01T10:00:00.000Z", deliveryStatus: 1 };
    expect(fromMessageRow(CONV, row)).toMatchObject({ kind: "reaction", emoji: "👀", catchup: true, senderName: null, messageId: "r1" });
  });
});

describe("which stdout line answers a stdin command", () => {
  const ts = "2026-12-01T10:00:00.000Z";
  it("a send is answered by a sent line without a type, a react by type reaction", () => {
    expect(answerFor("send", { event: "sent", id: "x", text: "hi", timestamp: ts } as never)).toBe("sent");
    expect(answerFor("send", { event: "sent", type: "reaction" })).toBe("unrelated");
    expect(answerFor("react", { event: "sent", type: "reaction" })).toBe("sent");
    expect(answerFor("lock", { event: "sent", type: "lock" })).toBe("sent");
  });

  it("a failed command is answered by its error line; stream errors answer nothing", () => {
    expect(answerFor("react", { event: "error", message: "Command failed: reference not found", command: { type: "react" } })).toBe("failed");
    expect(answerFor("send", { event: "error", message: "Command failed: x", command: { type: "react" } })).toBe("unrelated");
    expect(answerFor("send", { event: "error", message: "send command requires 'text' field" })).toBe("failed");
    expect(answerFor("send", { event: "error", message: "Message stream ended: closed" })).toBe("unrelated");
    expect(answerFor("send", { event: "error", message: "Failed to catch up messages: x" })).toBe("unrelated");
    expect(answerFor("send", { event: "heartbeat" })).toBe("unrelated");
  });
});

describe("a CLI failure's cause", () => {
  it("joins oclif's wrapped lines and drops the decoration and the USAGE block", () => {
    const stderr = [
      " \u001b[31m›\u001b[39m   Error: invalid wire type 6 at offset 3 while decoding the invite payload ",
      " \u001b[31m›\u001b[39m   protobuf (InvitePayload)",
      "",
      "USAGE",
      "  $ convos conversations join INVITE [--json]",
      "",
      "FLAGS",
      "  --timeout=<value>",
    ].join("\n");
    expect(cliErrorMessage(stderr, 2)).toBe("invalid wire type 6 at offset 3 while decoding the invite payload protobuf (InvitePayload)");
  });

  it("keeps every error block and plain stderr lines when there is no decoration", () => {
    expect(cliErrorMessage(" ›   Error: first\n ›   Caused by: second\n", 2)).toBe("first; caused by: second");
    expect(cliErrorMessage("connect ECONNREFUSED 1.2.3.4:443\n    at grpc\n", 2)).toBe("connect ECONNREFUSED 1.2.3.4:443 at grpc");
    expect(cliErrorMessage("", 2)).toBe("convos exited with code 2");
  });
});

describe("catch-up after a restart", () => {
  const row = (id: string, sentAt: string, extra: Partial<MessageRow> = {}): MessageRow => ({
    id,
    senderInboxId: MAYA,
    contentType: CONTENT_TYPES.text,
    content: id,
    sentAt,
    deliveryStatus: 1,
    ...extra,
  });

  it("asks for messages from just before the last one seen, else since the conversation was bound", () => {
    expect(sentAfterNs(null, null)).toBeNull();
    expect(sentAfterNs(null, "1970-01-01T00:00:01.000Z")).toBe("999999999");
    expect(sentAfterNs("1970-01-01T00:00:02.000Z", "1970-01-01T00:00:01.000Z")).toBe("1999999999");
  });

  it("a gap starts at the newest message seen before it, earlier when its start is unknown, never later than one pending", () => {
    const cursor = { lastSentAt: "2026-12-01T10:30:00.000Z", seen: [] };
    expect(gapStart(null, cursor, null)).toBe("2026-12-01T10:30:00.000Z");
    expect(gapStart(null, cursor, null, 15 * 60_000)).toBe("2026-12-01T10:15:00.000Z");
    expect(gapStart("2026-12-01T10:00:00.000Z", cursor, null)).toBe("2026-12-01T10:00:00.000Z");
    expect(gapStart(null, EMPTY_CURSOR, "2026-12-01T09:00:00.000Z")).toBe("2026-12-01T09:00:00.000Z");
  });

  it("dispatches unseen messages of others, oldest first, never own or silent ones", () => {
    const cursor = advance(EMPTY_CURSOR, "old", "2026-12-01T10:00:00.000Z");
    const rows = [
      row("b", "2026-12-01T10:00:02.000Z"),
      row("old", "2026-12-01T10:00:00.000Z"),
      row("a", "2026-12-01T10:00:01.000Z"),
      row("mine", "2026-12-01T10:00:03.000Z", { senderInboxId: "me" }),
      row("profile", "2026-12-01T10:00:04.000Z", { contentType: CONTENT_TYPES.profileUpdate }),
    ];
    expect(rowsToDispatch(rows, cursor, "me").map((r) => r.id)).toEqual(["a", "b"]);
  });

  it("the cursor only moves forward and remembers ids", () => {
    const c = advance(advance(EMPTY_CURSOR, "b", "2026-12-01T10:00:02.000Z"), "a", "2026-12-01T10:00:01.000Z");
    expect(c).toEqual({ lastSentAt: "2026-12-01T10:00:02.000Z", seen: ["b", "a"] });
  });
});

describe("timing decisions", () => {
  it("the stream is dead after three missed heartbeats; none without heartbeats", () => {
    expect(stallBoundMs(30)).toBe(90_000);
    expect(stallBoundMs(0)).toBeNull();
  });

  it("registration retries back off and cap", () => {
    const b = { initialMs: 1000, maxMs: 8000 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, b))).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it("an idle instance is not ready until its inbox is registered, and says why", () => {
    expect(identityNotReady({ state: "registered", inboxId: "x", attempts: 1, error: null, nextRetryAt: null })).toBeNull();
    expect(identityNotReady({ state: "off", inboxId: null, attempts: 0, error: null, nextRetryAt: null })).toBeNull();
    expect(identityNotReady({ state: "registering", inboxId: null, attempts: 1, error: null, nextRetryAt: null })).toBe("registering the XMTP identity");
    expect(identityNotReady({ state: "retrying", inboxId: null, attempts: 3, error: "network unreachable", nextRetryAt: "2026-12-01T10:00:08.000Z" })).toMatch(
      /attempt 3\): network unreachable; retrying at 2026-12-01T10:00:08/u,
    );
  });
});
