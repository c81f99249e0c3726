// What crosses the plugin ↔ `convos` CLI boundary (@xmtp/convos-cli 0.10.15): the
// `agent serve` ndjson protocol (stdout events, stdin commands) and the JSON documents the
// one-shot commands print with --json. Both sides import this module: the plugin parses
// with it, the CLI model (dev/fake-convos) builds its output with it, and the contract test
// checks the real CLI's output against it. Every shape names the real CLI source
// (node_modules/@xmtp/convos-cli/dist/...) it was read from; keep changes additive.
//
// Answers to stdin commands (commands/agent/serve.js, startStdinReader + handleCommand):
// - There is NO request id. Each stdin line is parsed on arrival and appended to one promise
//   chain (`commandQueue`), so commands run strictly one at a time in the order written, and
//   every command's answer is printed before the next command starts.
// - Every command answers with exactly ONE line, `sent` or `error`, except:
//     `stop`            → no line; the process closes its streams and exits 0.
//     `explode` (now)   → `sent` {type:"explode", membersRemoved}, then the process exits 0.
//   (closing stdin behaves like `stop`.)
// - `sent` answers: send (no `type`; echoes `text`/`replyTo`), react ("reaction"), attach
//   ("attachment"), remote-attach ("remote-attachment"), rename, update-profile, lock,
//   unlock, explode (scheduled: `scheduled:true`), read-receipt, typing, thinking,
//   connection-invoke, capability-request, cloud-connection-grant-request.
// - `error` answers: a validation failure prints one of COMMAND_VALIDATION_ERRORS (no
//   `command` field); a thrown failure (XMTP refused it, e.g. lock/explode/rename by a member
//   that is not admin, a missing attach file) prints `Command failed: <cause>` WITH the
//   offending command echoed in `command`; an unknown `type` prints `Unknown command type: x`.
// - Caveats for correlation: "Invalid JSON on stdin" is printed synchronously when the line
//   is read, NOT queued, so it can overtake answers of earlier commands (never write invalid
//   JSON). `error` lines that are not answers can appear at any time from the streams
//   (STREAM_ERROR_PREFIXES); classifyServeError() tells them apart.
// - Lock and unlock rotate the invite tag (appData) but print no new invite: the invite in
//   `ready` is dead after either; `convos conversation invite <id> --json` (InviteResult)
//   prints the current one.
//
// Lifecycle facts of the real serve (run()):
// - `ready` is printed after the group is resolved and the invite built, BEFORE pending join
//   requests are processed and BEFORE the message and DM streams are subscribed; the stdin
//   reader starts only after both streams are up (lines written earlier wait in the pipe).
// - A fresh start replays nothing: catch-up (`catchup:true`) runs only when a stream restarts
//   inside a running process, from the newest message that process has already seen.
//   Messages sent while serve was down are visible only through `conversation messages`.
// - `heartbeat` comes from a plain timer (--heartbeat N, default 0 = none): it proves the
//   process is alive, and `activeStreams` counts subscriptions made, not live ones — a stream
//   that ended still counts. A stream that ends with an error prints "Message stream ended: …".
// - Own messages are never echoed as `message` events; typing/read receipts are live-only.
// - `read_receipt`: serve.js matches typeId "read_receipt" but the bundled bindings name it
//   "readReceipt" (CONTENT_TYPES.readReceipt), so 0.10.15 never prints this event.
import { z } from "zod";

export const CLI_VERSION = "0.10.15";

/** `convos --version` (oclif): "@xmtp/convos-cli/0.10.15 linux-x64 node-v24.21.0". */
export const VERSION_LINE = /^@xmtp\/convos-cli\/(\d+\.\d+\.\d+) (\S+)-(\S+) node-v(\d+\.\d+\.\d+)$/u;

// ---- shared pieces -----------------------------------------------------------------------

// @xmtp/node-bindings ContentTypeId, serialised as-is by jsonStringify (utils/xmtp.js).
export const ContentTypeId = z.strictObject({
  authorityId: z.string(),
  typeId: z.string(),
  versionMajor: z.number().int(),
  versionMinor: z.number().int(),
});
export type ContentTypeId = z.infer<typeof ContentTypeId>;

const ct = (authorityId: string, typeId: string, versionMajor = 1): ContentTypeId => ({ authorityId, typeId, versionMajor, versionMinor: 0 });
/** Values printed by the bundled @xmtp/node-bindings contentType*() (read in the trixie root). */
export const CONTENT_TYPES = {
  text: ct("xmtp.org", "text"),
  markdown: ct("xmtp.org", "markdown"),
  reply: ct("xmtp.org", "reply"),
  reaction: ct("xmtp.org", "reaction", 2),
  groupUpdated: ct("xmtp.org", "group_updated"),
  attachment: ct("xmtp.org", "attachment"),
  remoteAttachment: ct("xmtp.org", "remoteStaticAttachment"),
  multiRemoteAttachment: ct("xmtp.org", "multiRemoteStaticAttachment"),
  readReceipt: ct("xmtp.org", "readReceipt"),
  // Convos codecs (utils/profileMessages.js, explodeSettings.js, typingIndicator.js, thinking.js)
  profileUpdate: ct("convos.org", "profile_update"),
  profileSnapshot: ct("convos.org", "profile_snapshot"),
  explodeSettings: ct("convos.org", "explode_settings"),
  typingIndicator: ct("convos.org", "typing_indicator"),
  thinking: ct("convos.org", "thinking"),
  joinRequest: ct("convos.org", "join_request"),
} as const satisfies Record<string, ContentTypeId>;

// @xmtp/node-bindings `const enum DeliveryStatus { Unpublished = 0, Published = 1, Failed = 2 }`.
export const DeliveryStatus = z.union([z.literal(0), z.literal(1), z.literal(2)]);
export const DELIVERY_PUBLISHED = 1;

const isoTime = z.iso.datetime({ offset: true });
const catchupFlag = z.literal(true).optional();

// utils/remoteAttachment.js toJson(): key material base64-encoded.
export const RemoteAttachmentInfo = z.strictObject({
  url: z.string(),
  contentDigest: z.string(),
  scheme: z.string(),
  secret: z.string(),
  salt: z.string(),
  nonce: z.string(),
  contentLength: z.number().int().optional(),
  filename: z.string().optional(),
});
export type RemoteAttachmentInfo = z.infer<typeof RemoteAttachmentInfo>;

// utils/xmtp.js getSenderProfileFromResolved()/getSenderProfile().
export const SenderProfile = z.strictObject({ name: z.string().optional(), image: z.string().optional() });

// utils/profileMessages.js metadataToProto input / parseMetadataFlags().parsedMetadata.
export const ProfileMetadataValue = z.union([
  z.strictObject({ type: z.literal("bool"), value: z.boolean() }),
  z.strictObject({ type: z.literal("number"), value: z.number() }),
  z.strictObject({ type: z.literal("string"), value: z.string() }),
]);

// ---- `agent serve` stdout events (commands/agent/serve.js) --------------------------------

// run(): emitted once the conversation is resolved (before the streams, see header).
export const ReadyEvent = z.strictObject({
  event: z.literal("ready"),
  conversationId: z.string(),
  identityId: z.string(),
  inboxId: z.string(),
  address: z.string(),
  name: z.string(),
  inviteUrl: z.string().optional(),
  inviteSlug: z.string().optional(),
  inviteTag: z.string().optional(),
  qrCodePath: z.string().optional(),
  timestamp: isoTime,
});

// startMessageStream()/catchUpMessages(): displayable messages from other members.
// `content` is ALWAYS a string, normalised by utils/xmtp.js normalizeMessageContent():
//   text/markdown      the text
//   reply              `reply to <refId>: <text>` or `reply to "<parent>" (<refId>): <text>`
//   reaction           `reacted <emoji> to <refId>` / `removed <emoji> to <refId>`
//   group_updated      descriptions joined by "; " (`<A> added <B>`, `<A> removed <B>`,
//                      `<B> joined by invite`, `<B> left the group`,
//                      `<A> changed group name to "<n>"`, `<A> rotated the invite tag`, …)
//   attachment         `[attachment: <filename|unnamed> (<mime>)]`
//   remoteStaticAttachment `[remote attachment: <filename|unnamed> (<n> bytes) <url>]` + remoteAttachment
//   multiRemoteStaticAttachment `[<n> attachments: a, b]` + multiRemoteAttachment
export const MessageEvent = z.strictObject({
  event: z.literal("message"),
  id: z.string(),
  senderInboxId: z.string(),
  senderProfile: SenderProfile.optional(),
  contentType: ContentTypeId,
  content: z.string(),
  remoteAttachment: RemoteAttachmentInfo.optional(),
  multiRemoteAttachment: z.strictObject({ attachments: z.array(RemoteAttachmentInfo) }).optional(),
  sentAt: isoTime,
  deliveryStatus: DeliveryStatus,
  catchup: catchupFlag,
});

// processPendingJoinRequests()/startJoinRequestStream()/catchUpDmJoinRequests().
export const MemberJoinedEvent = z.strictObject({
  event: z.literal("member_joined"),
  inboxId: z.string(),
  conversationId: z.string(),
  timestamp: isoTime,
  catchup: catchupFlag,
});

// startHeartbeat().
export const HeartbeatEvent = z.strictObject({
  event: z.literal("heartbeat"),
  conversationId: z.string(),
  activeStreams: z.number().int(),
  timestamp: isoTime,
});

// emitError(message, details): details are merged in.
export const ErrorEvent = z.strictObject({
  event: z.literal("error"),
  message: z.string(),
  command: z.unknown().optional(), // "Command failed: …" echoes the stdin command
  input: z.string().optional(), // "Invalid JSON on stdin"
  messageId: z.string().optional(), // "Failed to handle DM message: …"
  kind: z.unknown().optional(),
  subject: z.unknown().optional(),
  capability: z.unknown().optional(),
});

// routeConvosContentType(): explode_settings from another member (e.g. the owner in the app).
export const ExplodeNoticeEvent = z.strictObject({
  event: z.literal("explode_notice"),
  conversationId: z.string(),
  senderInboxId: z.string(),
  expiresAt: z.string(),
  sentAt: isoTime,
  catchup: catchupFlag,
});

// routeConvosContentType(): profile_update. encryptedImage salt/nonce are byte arrays in
// the decoded content and serialise as whatever JSON makes of them: not interpreted here.
export const ProfileUpdateEvent = z.strictObject({
  event: z.literal("profile_update"),
  id: z.string(),
  senderInboxId: z.string(),
  conversationId: z.string(),
  name: z.string().optional(),
  encryptedImage: z.looseObject({ url: z.string() }).optional(),
  memberKind: z.number().int().optional(), // utils/profileMessages.js MemberKind: 0 Unspecified, 1 Agent
  metadata: z.record(z.string(), ProfileMetadataValue).optional(),
  sentAt: isoTime,
  catchup: catchupFlag,
});

// routeConvosContentType(): typing indicators (live only).
export const TypingEvent = z.strictObject({
  event: z.literal("typing"),
  senderInboxId: z.string(),
  isTyping: z.boolean(),
  conversationId: z.string(),
  timestamp: isoTime,
});

// routeConvosContentType(): never printed by 0.10.15 (see header), kept for the shape.
export const ReadReceiptEvent = z.strictObject({
  event: z.literal("read_receipt"),
  id: z.string(),
  senderInboxId: z.string(),
  conversationId: z.string(),
  sentAt: isoTime,
});

// routeConvosContentType(): utils/thinking.js content.
export const ThinkingEvent = z.strictObject({
  event: z.literal("thinking"),
  id: z.string(),
  senderInboxId: z.string(),
  conversationId: z.string(),
  state: z.enum(["start", "stop"]),
  targetMessageId: z.string(),
  content: z.string(),
  resultMessageId: z.string().optional(),
  sentAt: isoTime,
  catchup: catchupFlag,
});

// routeConvosContentType(): ConvosConnections / capability traffic. The plugin does not act
// on these; the common fields are checked, the payload fields pass through.
const convosTraffic = <T extends string>(event: T) =>
  z.looseObject({
    event: z.literal(event),
    id: z.string(),
    senderInboxId: z.string(),
    conversationId: z.string(),
    sentAt: isoTime,
    catchup: catchupFlag,
  });
export const ConnectionPayloadEvent = convosTraffic("connection_payload");
export const ConnectionInvocationEvent = convosTraffic("connection_invocation");
export const ConnectionResultEvent = convosTraffic("connection_result");
export const ConnectionEventEvent = convosTraffic("connection_event");
export const CloudConnectionGrantRequestEvent = convosTraffic("cloud_connection_grant_request");
export const CapabilityRequestEvent = convosTraffic("capability_request");
export const CapabilityResultEvent = convosTraffic("capability_result");

// handleCommand(): the `sent` answers, one shape per command.
const sentBase = { event: z.literal("sent"), timestamp: isoTime };
export const SentText = z.strictObject({ ...sentBase, id: z.string(), text: z.string(), replyTo: z.string().optional() }); // case "send"
export const SentReaction = z.strictObject({
  ...sentBase,
  type: z.literal("reaction"),
  id: z.string(),
  messageId: z.string(),
  emoji: z.string(),
  action: z.string(), // cmd.action ?? "add": echoes what was written
}); // case "react"
export const SentAttachment = z.strictObject({
  ...sentBase,
  type: z.literal("attachment"),
  id: z.string(),
  filename: z.string(),
  mimeType: z.string(),
  size: z.number().int(),
  sendType: z.literal("remote"),
  url: z.string(),
  replyTo: z.string().optional(),
}); // case "attach"
export const SentRemoteAttachment = z.strictObject({
  ...sentBase,
  type: z.literal("remote-attachment"),
  id: z.string(),
  url: z.string(),
  filename: z.string().optional(),
}); // case "remote-attach"
export const SentRename = z.strictObject({ ...sentBase, type: z.literal("rename"), name: z.string(), conversationId: z.string() }); // case "rename"
export const SentUpdateProfile = z.strictObject({
  ...sentBase,
  type: z.literal("update-profile"),
  name: z.string().optional(),
  image: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  conversationId: z.string(),
}); // case "update-profile"
export const SentLock = z.strictObject({ ...sentBase, type: z.literal("lock"), conversationId: z.string() }); // case "lock"
export const SentUnlock = z.strictObject({ ...sentBase, type: z.literal("unlock"), conversationId: z.string() }); // case "unlock"
export const SentExplode = z.strictObject({
  ...sentBase,
  type: z.literal("explode"),
  conversationId: z.string(),
  membersRemoved: z.number().int(),
  expiresAt: isoTime,
}); // case "explode", immediate (the process exits after it)
export const SentExplodeScheduled = z.strictObject({
  ...sentBase,
  type: z.literal("explode"),
  scheduled: z.literal(true),
  conversationId: z.string(),
  expiresAt: isoTime,
}); // case "explode" with `scheduled`
export const SentReadReceipt = z.strictObject({ ...sentBase, type: z.literal("read-receipt"), id: z.string(), conversationId: z.string() });
export const SentTyping = z.strictObject({ ...sentBase, type: z.literal("typing"), id: z.string(), isTyping: z.boolean(), conversationId: z.string() });
export const SentThinking = z.strictObject({
  ...sentBase,
  type: z.literal("thinking"),
  id: z.string(),
  state: z.enum(["start", "stop"]),
  targetMessageId: z.string(),
  content: z.string(),
  resultMessageId: z.string().optional(),
  conversationId: z.string(),
});
export const SentOther = z.looseObject({
  ...sentBase,
  type: z.enum(["connection-invoke", "capability-request", "cloud-connection-grant-request"]),
  id: z.string(),
});
export const SentEvent = z.union([
  SentText,
  SentReaction,
  SentAttachment,
  SentRemoteAttachment,
  SentRename,
  SentUpdateProfile,
  SentLock,
  SentUnlock,
  SentExplodeScheduled,
  SentExplode,
  SentReadReceipt,
  SentTyping,
  SentThinking,
  SentOther,
]);

export const ServeEvent = z.union([
  ReadyEvent,
  MessageEvent,
  MemberJoinedEvent,
  SentEvent,
  HeartbeatEvent,
  ErrorEvent,
  ExplodeNoticeEvent,
  ProfileUpdateEvent,
  TypingEvent,
  ReadReceiptEvent,
  ThinkingEvent,
  ConnectionPayloadEvent,
  ConnectionInvocationEvent,
  ConnectionResultEvent,
  ConnectionEventEvent,
  CloudConnectionGrantRequestEvent,
  CapabilityRequestEvent,
  CapabilityResultEvent,
]);
export type ReadyEvent = z.infer<typeof ReadyEvent>;
export type MessageEvent = z.infer<typeof MessageEvent>;
export type MemberJoinedEvent = z.infer<typeof MemberJoinedEvent>;
export type HeartbeatEvent = z.infer<typeof HeartbeatEvent>;
export type ErrorEvent = z.infer<typeof ErrorEvent>;
export type ExplodeNoticeEvent = z.infer<typeof ExplodeNoticeEvent>;
export type ProfileUpdateEvent = z.infer<typeof ProfileUpdateEvent>;
export type TypingEvent = z.infer<typeof TypingEvent>;
export type ThinkingEvent = z.infer<typeof ThinkingEvent>;
export type SentEvent = z.infer<typeof SentEvent>;
export type ServeEvent = z.infer<typeof ServeEvent>;
export type ServeEventName = ServeEvent["event"];

// ---- `agent serve` stdin commands (commands/agent/serve.js handleCommand) ------------------

export const SendCommand = z.strictObject({ type: z.literal("send"), text: z.string().min(1), replyTo: z.string().optional() });
// action: anything but "remove" adds (ReactionAction.Added).
export const ReactCommand = z.strictObject({ type: z.literal("react"), messageId: z.string().min(1), emoji: z.string().min(1), action: z.enum(["add", "remove"]).optional() });
// file is read by the CLI process; needs an upload provider (CONVOS_API_KEY / CONVOS_UPLOAD_PROVIDER).
export const AttachCommand = z.strictObject({ type: z.literal("attach"), file: z.string().min(1), mimeType: z.string().optional(), replyTo: z.string().optional() });
// secret/salt/nonce base64; scheme defaults to "https".
export const RemoteAttachCommand = z.strictObject({
  type: z.literal("remote-attach"),
  url: z.string().min(1),
  contentDigest: z.string().min(1),
  secret: z.string().min(1),
  salt: z.string().min(1),
  nonce: z.string().min(1),
  contentLength: z.number().int().positive(),
  scheme: z.string().optional(),
  filename: z.string().optional(),
});
export const RenameCommand = z.strictObject({ type: z.literal("rename"), name: z.string().min(1) });
// At least one of name/image/metadata; image is a URL or local path the CLI uploads ("" clears).
export const UpdateProfileCommand = z.strictObject({
  type: z.literal("update-profile"),
  name: z.string().optional(),
  image: z.string().optional(),
  metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export const LockCommand = z.strictObject({ type: z.literal("lock") });
export const UnlockCommand = z.strictObject({ type: z.literal("unlock") });
// scheduled: any Date-parsable string in the future; absent = explode now (members removed, exit).
export const ExplodeCommand = z.strictObject({ type: z.literal("explode"), scheduled: z.string().optional() });
export const ReadReceiptCommand = z.strictObject({ type: z.literal("read-receipt") });
export const TypingCommand = z.strictObject({ type: z.literal("typing"), isTyping: z.boolean().optional() });
export const ThinkingCommand = z.strictObject({
  type: z.literal("thinking"),
  state: z.enum(["start", "stop"]),
  targetMessageId: z.string().min(1),
  content: z.string().min(1),
  resultMessageId: z.string().min(1).optional(),
});
export const StopCommand = z.strictObject({ type: z.literal("stop") });
export const ServeCommand = z.discriminatedUnion("type", [
  SendCommand,
  ReactCommand,
  AttachCommand,
  RemoteAttachCommand,
  RenameCommand,
  UpdateProfileCommand,
  LockCommand,
  UnlockCommand,
  ExplodeCommand,
  ReadReceiptCommand,
  TypingCommand,
  ThinkingCommand,
  StopCommand,
]);
export type ServeCommand = z.infer<typeof ServeCommand>;
export type ServeCommandType = ServeCommand["type"];

/** Commands the real serve answers with no line at all (it exits instead). */
export const UNANSWERED_COMMANDS: readonly ServeCommandType[] = ["stop"];

/** handleCommand()'s validation errors: printed instead of `sent`, without a `command` field. */
export const COMMAND_VALIDATION_ERRORS = [
  "send command requires 'text' field",
  "react command requires 'messageId' and 'emoji' fields",
  "attach command requires 'file' field",
  "Configure an upload provider (CONVOS_API_KEY or CONVOS_UPLOAD_PROVIDER) to send attachments.",
  "remote-attach command requires 'url', 'contentDigest', 'secret', 'salt', 'nonce', and 'contentLength' fields",
  "rename command requires 'name' field",
  "update-profile requires 'name', 'image', and/or 'metadata'",
  "Image upload requires an upload provider. Set CONVOS_API_KEY=<key> or CONVOS_UPLOAD_PROVIDER=convos-api with CONVOS_API_KEY.",
  "Scheduled date must be in the future",
  "thinking command requires 'state' to be 'start' or 'stop'",
  "thinking command requires non-empty 'targetMessageId' field",
  "thinking command requires non-empty 'content' field",
] as const;
const COMMAND_ERROR_PREFIXES = [
  "Command failed: ",
  "Unknown command type: ",
  "Invalid scheduled date: ",
  "thinking command ",
  // validation of the connection/capability commands the plugin does not send
  "connection-invoke ",
  "capability-request ",
  "cloud-connection-grant-request ",
  "Invalid 'issuedAt' timestamp: ",
  "arguments.",
];

/** Errors printed by the streams and startup, never as an answer to a command. */
export const STREAM_ERROR_PREFIXES = [
  "Message stream ended: ",
  "DM stream ended: ",
  "Failed to handle DM message: ",
  "Failed to catch up messages: ",
  "Failed to catch up DM join requests: ",
  "Failed to process pending join requests: ",
  "Failed to start message stream: ",
  "Failed to start join request stream: ",
  "Stream shutdown failed: ",
] as const;

/**
 * Which kind of `error` line this is: an answer to the oldest queued command ("command"),
 * the synchronous bad-input notice that answers nothing in the queue ("input"), or a stream /
 * startup problem ("stream"). Decided from the message, as the real CLI gives no id.
 */
export function classifyServeError(event: Pick<ErrorEvent, "message" | "command" | "input">): "command" | "input" | "stream" {
  if (event.message === "Invalid JSON on stdin") return "input";
  if (event.command !== undefined) return "command";
  if ((COMMAND_VALIDATION_ERRORS as readonly string[]).includes(event.message)) return "command";
  if (COMMAND_ERROR_PREFIXES.some((p) => event.message.startsWith(p))) return "command";
  return "stream";
}

// ---- one-shot command results (`… --json`, pretty-printed by baseCommand.js output()) -----
// Progress lines (this.log) share stdout with the JSON document in --json mode: the document
// is the last JSON value printed (conversations join prints "Invite parsed: …" first).

// commands/conversations/create.js run().
export const CreateResult = z.strictObject({
  conversationId: z.string(),
  identityId: z.string(),
  address: z.string(),
  inboxId: z.string(),
  name: z.string(),
  description: z.string(),
  permissions: z.enum(["all-members", "admin-only"]),
  createdAt: isoTime,
  invite: z.strictObject({ slug: z.string(), url: z.string(), tag: z.string() }),
});
export type CreateResult = z.infer<typeof CreateResult>;

// commands/conversations/join.js run(): the three outputs. `metadata` is the raw key=value
// map of --metadata flags (parseMetadataFlags().joinMetadata).
const joinBase = { identityId: z.string(), address: z.string(), inboxId: z.string(), tag: z.string() };
export const JoinJoinedResult = z.strictObject({
  status: z.literal("joined"),
  conversationId: z.string(),
  ...joinBase,
  conversationName: z.string().nullable(),
  profileName: z.string().nullable(),
  profileImage: z.string().nullable(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export const JoinRequestSentResult = z.strictObject({
  status: z.literal("request_sent"),
  ...joinBase,
  creatorInboxId: z.string(),
  conversationName: z.string().nullable(),
  profileName: z.string().nullable(),
  profileImage: z.string().nullable(),
  metadata: z.record(z.string(), z.string()).optional(),
  message: z.string(),
}); // --no-wait
export const JoinTimeoutResult = z.strictObject({ status: z.literal("timeout"), ...joinBase, message: z.string() });
export const JoinResult = z.discriminatedUnion("status", [JoinJoinedResult, JoinRequestSentResult, JoinTimeoutResult]);
export type JoinResult = z.infer<typeof JoinResult>;

// "No identity found…" / "No conversations found…" notices printed instead of an empty list
// (conversations/list.js, identity/list.js).
export const EmptyListNotice = z.strictObject({ message: z.string(), count: z.literal(0) });
export type EmptyListNotice = z.infer<typeof EmptyListNotice>;

// commands/conversations/list.js run().
export const ConversationRow = z.strictObject({
  conversationId: z.string(),
  kind: z.enum(["group", "dm"]),
  name: z.string(),
  createdAt: isoTime,
  memberCount: z.number().int(),
  isActive: z.boolean(),
  isLocked: z.boolean(),
});
export const ListResult = z.union([z.array(ConversationRow), EmptyListNotice]);
export type ConversationRow = z.infer<typeof ConversationRow>;
export type ListResult = z.infer<typeof ListResult>;

// commands/conversation/messages.js run(): every message (own ones and silent Convos types
// too), content normalised as in MessageEvent. Flags: --sync, --limit, --direction
// ascending|descending (default descending), --sent-after/--sent-before <ns>.
export const MessageRow = z.strictObject({
  id: z.string(),
  senderInboxId: z.string(),
  contentType: ContentTypeId,
  content: z.string(),
  sentAt: isoTime,
  deliveryStatus: DeliveryStatus,
});
export const MessagesResult = z.array(MessageRow);
export type MessageRow = z.infer<typeof MessageRow>;
export type MessagesResult = z.infer<typeof MessagesResult>;

// commands/conversation/download-attachment.js downloadInline()/downloadRemote().
export const DownloadAttachmentResult = z.discriminatedUnion("type", [
  z.strictObject({ success: z.literal(true), type: z.literal("inline"), outputPath: z.string(), filename: z.string().optional(), mimeType: z.string(), size: z.number().int() }),
  z.strictObject({ success: z.literal(true), type: z.literal("remote-raw"), outputPath: z.string(), url: z.string(), size: z.number().int() }),
  z.strictObject({ success: z.literal(true), type: z.literal("remote"), outputPath: z.string(), filename: z.string().optional(), mimeType: z.string(), size: z.number().int(), url: z.string() }),
]);
export type DownloadAttachmentResult = z.infer<typeof DownloadAttachmentResult>;

// commands/conversation/invite.js run(): the current invite (after lock/unlock rotation).
export const InviteResult = z.strictObject({
  conversationId: z.string(),
  slug: z.string(),
  url: z.string(),
  tag: z.string(),
  env: z.enum(["local", "dev", "production"]),
  expiresAt: isoTime.nullable(),
  singleUse: z.boolean(),
});
export type InviteResult = z.infer<typeof InviteResult>;

// commands/identity/create.js run() (fails with "An identity already exists…" when one does).
export const IdentityCreateResult = z.strictObject({
  id: z.string(),
  address: z.string(),
  label: z.string(),
  profileName: z.string(),
  createdAt: isoTime,
  message: z.string(),
});
export type IdentityCreateResult = z.infer<typeof IdentityCreateResult>;

// commands/identity/list.js run(): one row (singleton identity) or the notice.
export const IdentityRow = z.strictObject({
  id: z.string(),
  address: z.string(),
  inboxId: z.string(), // "(not yet registered)" until a command has opened the XMTP client
  label: z.string(),
  profileName: z.string(),
  createdAt: isoTime,
});
export const IdentityListResult = z.union([z.array(IdentityRow), EmptyListNotice]);
export type IdentityListResult = z.infer<typeof IdentityListResult>;
export const INBOX_NOT_REGISTERED = "(not yet registered)";

// commands/identity/info.js run() --json (opens the XMTP client: needs the network).
export const IdentityInfoResult = z.strictObject({
  properties: z.strictObject({
    id: z.string(),
    address: z.string(),
    inboxId: z.string(),
    installationId: z.string(),
    isRegistered: z.boolean(),
    label: z.string(),
    profileName: z.string(),
    createdAt: isoTime,
  }),
  client: z.strictObject({ env: z.enum(["local", "dev", "production"]), libxmtpVersion: z.string(), appVersion: z.string().optional() }),
});
export type IdentityInfoResult = z.infer<typeof IdentityInfoResult>;

// commands/reset.js run(): nothing to reset, or what was removed (needs --force off a TTY).
export const ResetResult = z.union([
  z.strictObject({ success: z.literal(true), message: z.string() }),
  z.strictObject({
    success: z.literal(true),
    identityRemoved: z.boolean(),
    legacyIdentitiesRemoved: z.number().int(),
    dbFilesRemoved: z.number().int(),
    message: z.string(),
  }),
]);
export type ResetResult = z.infer<typeof ResetResult>;

// ---- failures (oclif, @oclif/core handle.js / errors/cli.js) ------------------------------
// A failed command prints nothing on stdout and, on stderr, " ›   Error: <message>" (every
// line of a multi-line message prefixed with " ›   "), exit code 2 for this.error() and for
// thrown errors (baseCommand.js catch() wraps them as CLIError with showHelp, which appends
// the command's USAGE block: see failure-format notes in the CLI model).
export const CLI_ERROR_EXIT_CODE = 2;
