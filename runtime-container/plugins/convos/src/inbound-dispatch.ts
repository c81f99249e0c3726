// One Convos message through the agent: decide whether it is a turn (room-policy), bring
// shared files into the workspace, acknowledge addressed messages with 👀, hand the turn to
// OpenClaw's reply pipeline with the room's context, deliver the answer as plain text
// threaded to the message it answers, then take the 👀 back.
import fs from "node:fs";
import path from "node:path";
import { toInboundMediaFacts } from "openclaw/plugin-sdk/channel-inbound";
import { createAckReactionHandle, resolveAckReaction, shouldAckReaction, type AckReactionHandle } from "openclaw/plugin-sdk/channel-feedback";
import { saveMediaBuffer } from "openclaw/plugin-sdk/media-store";
import { formatAudioTranscriptForAgent, transcribeAudioFile } from "openclaw/plugin-sdk/media-understanding-runtime";
import {
  ATTACHMENT_DIR,
  CANNOT_LISTEN_LINE,
  MAX_IMAGE_BYTES,
  describeStored,
  describeVoiceNote,
  inspectDownloaded,
  planAttachment,
  resolveWorkspaceFile,
  safeFileName,
  type StoredAttachment,
} from "./attachments.ts";
import type { ConvosService, InboundMessage } from "./convos-service.ts";
import { type CreditNotice, creditNoticeBeside, creditReply } from "./credit-notice.ts";
import { markdownToPlainText } from "./plain-text.ts";
import { DownloadAttachmentResult } from "./cli-protocol.ts";
import { decideTurn, wantsAcknowledgement, writtenText, type TurnDecision } from "./room-policy.ts";
import type { RoomState } from "./room-state.ts";
import { readInstructions, turnContextFields } from "./turn-context.ts";

export const CHANNEL_ID = "convos";

// The runtime surface is large and versioned; only the calls below are relied on.
type ChannelRuntime = {
  routing: { resolveAgentRoute: (p: unknown) => { agentId: string; sessionKey: string; accountId?: string } };
  session: {
    resolveStorePath: (store: unknown, p: { agentId: string }) => string;
    readSessionUpdatedAt: (p: { storePath: string; sessionKey: string }) => number | undefined;
    recordInboundSession: (p: unknown) => Promise<void>;
  };
  reply: {
    finalizeInboundContext: (ctx: Record<string, unknown>) => Record<string, unknown> & { SessionKey?: string };
    formatAgentEnvelope: (p: unknown) => string;
    resolveEnvelopeFormatOptions: (cfg: unknown) => unknown;
    dispatchReplyWithBufferedBlockDispatcher: (p: unknown) => Promise<unknown>;
  };
  text?: {
    resolveTextChunkLimit?: (p: unknown) => number;
    chunkMarkdownText?: (text: string, limit: number) => string[];
  };
};

type Logger = { info?: (m: string) => void; warn?: (m: string) => void; error?: (m: string) => void };
type Config = Record<string, unknown> & { session?: { store?: unknown }; messages?: { ackReactionScope?: string } };

/** Turns a stored voice note into words; no text (and why) when no audio model could. */
export type Transcriber = (p: { filePath: string; mime: string; cfg: Config }) => Promise<{ text?: string; why?: string }>;

// OpenClaw's own audio pipeline (tools.media: OpenRouter's transcription model with the
// instance's key); it answers without text when no audio model has credentials or all failed.
const openclawTranscriber: Transcriber = async ({ filePath, mime, cfg }) => {
  const result = await transcribeAudioFile({ filePath, mime, cfg: cfg as never });
  if (result.text !== undefined) return { text: result.text };
  const decision = result.decision as { outcome?: string; attachments?: Array<{ attempts?: Array<{ provider?: string; reason?: string }> }> } | undefined;
  const reasons = (decision?.attachments ?? []).flatMap((a) => a.attempts ?? []).map((t) => `${t.provider ?? "?"}: ${t.reason ?? "no reason"}`);
  return { why: reasons.length ? reasons.join("; ") : (decision?.outcome ?? "no audio model") };
};

export type InboundDeps = {
  channelRuntime: ChannelRuntime;
  loadConfig: () => Config;
  service: ConvosService;
  room: RoomState;
  accountId: string;
  workspaceDir?: string;
  log?: Logger;
  now?: () => Date;
  transcribe?: Transcriber;
  /** Once-per-period credit notice; defaults to the one beside the binding (credit-notice.ts). */
  credits?: CreditNotice;
};

/** The context fields every turn carries, whatever kind of message it is. */
export function inboundContextFields(msg: InboundMessage, body: string, rawBody: string, sessionKey: string, accountId: string): Record<string, unknown> {
  return {
    Body: body,
    RawBody: rawBody,
    CommandBody: rawBody,
    BodyForAgent: body,
    From: `${CHANNEL_ID}:${msg.senderId}`,
    To: `${CHANNEL_ID}:${msg.conversationId}`,
    SessionKey: sessionKey,
    AccountId: accountId,
    ChatType: "group",
    SenderName: msg.senderName ?? undefined,
    SenderId: msg.senderId,
    Provider: CHANNEL_ID,
    Surface: CHANNEL_ID,
    MessageSid: msg.messageId,
    Timestamp: msg.timestamp.getTime(),
    OriginatingChannel: CHANNEL_ID,
    OriginatingTo: `${CHANNEL_ID}:${msg.conversationId}`,
  };
}

/** What the model reads as the message itself (the envelope adds sender and time). */
function messageBody(msg: InboundMessage, stored: StoredAttachment | null, transcript: string | null): string {
  if (msg.kind === "reaction") return `${msg.senderName ?? "Someone"} reacted ${msg.emoji} to your message ${msg.targetMessageId}`;
  if (stored && transcript !== null) return describeVoiceNote(stored, msg.senderName, formatAudioTranscriptForAgent(transcript));
  if (stored) return describeStored(stored, msg.senderName);
  return writtenText(msg) || msg.body;
}

type Fetched = { stored: StoredAttachment | null; refusal: string | null; transcript: string | null };

/** Downloads a shared file through the CLI into the workspace, within the size and type rules. */
async function fetchAttachment(msg: InboundMessage & { kind: "attachment" }, deps: InboundDeps): Promise<Fetched> {
  if (!deps.workspaceDir) return { stored: null, refusal: null, transcript: null };
  const declared = { filename: msg.filename, mimeType: msg.mimeType, bytes: msg.size };
  const plan = planAttachment(declared);
  if (plan.action === "refuse") return { stored: null, refusal: plan.line, transcript: null };
  const dir = path.join(deps.workspaceDir, ATTACHMENT_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, safeFileName(declared.filename, msg.messageId));
  try {
    await deps.service.runCli(["conversation", "download-attachment", msg.download.conversationId, msg.download.messageId, "--output", target], DownloadAttachmentResult);
  } catch (err) {
    deps.log?.warn?.(`convos: downloading attachment ${msg.messageId} failed: ${String(err)}`);
    return { stored: null, refusal: `I couldn't download ${declared.filename ? `"${declared.filename}"` : "that file"}; could you send it again?`, transcript: null };
  }
  const inspection = inspectDownloaded(target, deps.workspaceDir, declared, plan.expect);
  if (!inspection.ok) return { stored: null, refusal: inspection.line, transcript: null };
  if (inspection.stored.kind !== "audio") return { stored: inspection.stored, refusal: null, transcript: null };
  // A voice note reaches the agent as words, or not at all: without a transcript it would
  // only see a file name and guess, so the member is told plainly instead (no model call).
  const transcript = await transcribeVoiceNote(inspection.stored, deps);
  return transcript === undefined ? { stored: null, refusal: CANNOT_LISTEN_LINE, transcript: null } : { stored: inspection.stored, refusal: null, transcript };
}

async function transcribeVoiceNote(stored: StoredAttachment, deps: InboundDeps): Promise<string | undefined> {
  try {
    const { text, why } = await (deps.transcribe ?? openclawTranscriber)({ filePath: stored.path, mime: stored.contentType, cfg: deps.loadConfig() });
    deps.log?.info?.(`convos: voice note ${stored.relativePath} ${text === undefined ? `not transcribed: ${why ?? "no audio model"}` : "transcribed"}`);
    return text;
  } catch (err) {
    deps.log?.warn?.(`convos: transcribing voice note ${stored.relativePath} failed: ${String(err)}`);
    return undefined;
  }
}

/** Local files OpenClaw asks us to deliver (MEDIA: lines in the answer) go out through `attach`. */
async function deliverMedia(urls: string[], deps: InboundDeps, replyTo: string | undefined): Promise<void> {
  for (const url of urls) {
    if (!deps.workspaceDir || /^https?:/iu.test(url)) {
      deps.log?.warn?.(`convos: not sending ${url}: only workspace files can be attached`);
      continue;
    }
    await deps.service.serveCommand({ type: "attach", file: resolveWorkspaceFile(deps.workspaceDir, url), ...(replyTo ? { replyTo } : {}) });
  }
}

// OpenClaw refuses work for a moment while it restarts internally or while its state
// database is busy (seen under heavy CPU load); both fail before the agent runs, so the
// turn is offered again rather than lost.
const TRANSIENT = /GatewayDrainingError|StateDatabaseCoordinatorContentionError|Gateway is draining|owns state-/u;
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000];

async function withRetry(run: () => Promise<void>, what: string, log?: Logger): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      const delay = RETRY_DELAYS_MS[attempt];
      if (!TRANSIENT.test(`${(err as Error)?.name ?? ""}: ${String(err)}`) || delay === undefined) throw err;
      log?.warn?.(`convos: OpenClaw is busy (${String(err)}); offering ${what} again in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

type Route = { agentId: string; sessionKey: string };

/** 👀 on an addressed message while the agent works; null when OpenClaw's ack settings say none. */
function acknowledge(msg: InboundMessage, decision: TurnDecision, cfg: Config, route: Route, deps: InboundDeps): AckReactionHandle | null {
  // OpenClaw's acknowledgement settings (messages.ackReaction / ackReactionScope) decide
  // whether and with what; the room policy decides what counts as addressed.
  const wanted = shouldAckReaction({
    scope: cfg.messages?.ackReactionScope as never,
    isDirect: false,
    isGroup: true,
    isMentionableGroup: true,
    canDetectMention: true,
    effectiveWasMentioned: wantsAcknowledgement(msg, decision),
  });
  const emoji = wanted ? resolveAckReaction(cfg as never, route.agentId, { channel: CHANNEL_ID, accountId: deps.accountId }) : "";
  if (!emoji) return null;
  return createAckReactionHandle({
    ackReactionValue: emoji,
    send: () => deps.service.react(msg.messageId, emoji, "add").then(() => undefined),
    remove: () => deps.service.react(msg.messageId, emoji, "remove").then(() => undefined),
    onSendError: (err) => deps.log?.warn?.(`convos: acknowledging ${msg.messageId} failed: ${String(err)}`),
  });
}

/** Decides, prepares and runs one inbound message; resolves once the turn is over. */
export async function handleInbound(msg: InboundMessage, deps: InboundDeps): Promise<TurnDecision> {
  const { service, room, log } = deps;
  room.observe(msg);
  const decision = decideTurn(msg, room.facts());
  if (!decision.turn) {
    log?.info?.(`convos: message ${msg.messageId} (${msg.kind}) is not a turn: ${decision.reason}`);
    return decision;
  }
  const fetched = msg.kind === "attachment" ? await fetchAttachment(msg, deps) : { stored: null, refusal: null, transcript: null };
  if (fetched.refusal) {
    await service.send(fetched.refusal, msg.messageId);
    log?.info?.(`convos: turn for message ${msg.messageId} finished: refused the file`);
    return decision;
  }
  const cfg = deps.loadConfig();
  const route = deps.channelRuntime.routing.resolveAgentRoute({ cfg, channel: CHANNEL_ID, accountId: deps.accountId, peer: { kind: "group", id: msg.conversationId } });
  const ack = acknowledge(msg, decision, cfg, route, deps);
  // Logged once per message: a busy-retry below offers the same turn again, it is not a new one.
  log?.info?.(`convos: inbound message ${msg.messageId} from ${msg.senderId.slice(0, 12)} dispatched to agent ${route.agentId} (${decision.reason})`);
  let outcome = "failed";
  try {
    await withRetry(
      async () => {
        outcome = (await dispatchTurn(msg, decision, fetched, deps, cfg, route)) ? "answered" : "no message sent";
      },
      `message ${msg.messageId}`,
      log,
    );
  } finally {
    // The 👀 says "on it"; once the turn is over (answered, silent or failed) it goes.
    if (ack && (await ack.ackReactionPromise)) await ack.remove().catch((err) => log?.warn?.(`convos: removing acknowledgement failed: ${String(err)}`));
    log?.info?.(`convos: turn for message ${msg.messageId} finished: ${outcome}`);
  }
  return decision;
}

/** One run of OpenClaw's reply pipeline for the turn; true when something reached the chat. */
async function dispatchTurn(msg: InboundMessage, decision: TurnDecision, fetched: Fetched, deps: InboundDeps, cfg: Config, route: Route): Promise<boolean> {
  const { stored, transcript } = fetched;
  const { channelRuntime: rt, service, room, accountId, log } = deps;
  const storePath = rt.session.resolveStorePath(cfg.session?.store, { agentId: route.agentId });
  const previousTimestamp = rt.session.readSessionUpdatedAt({ storePath, sessionKey: route.sessionKey });
  const text = messageBody(msg, stored, transcript);
  const body = rt.reply.formatAgentEnvelope({
    channel: "Convos",
    from: msg.senderName ? `${msg.senderName} (${msg.senderId.slice(0, 8)})` : msg.senderId.slice(0, 12),
    timestamp: msg.timestamp.getTime(),
    previousTimestamp,
    envelope: rt.reply.resolveEnvelopeFormatOptions(cfg),
    body: `${text}\n[message id: ${msg.messageId}]`,
  });
  // Images go to the model through OpenClaw's media store (the runner only loads images
  // from there); the workspace copy is what the agent's file tools see.
  const image = stored?.kind === "image" ? await saveMediaBuffer(fs.readFileSync(stored.path), stored.contentType, "inbound", MAX_IMAGE_BYTES, stored.filename) : null;
  const ctxPayload = rt.reply.finalizeInboundContext({
    ...inboundContextFields(msg, body, text, route.sessionKey, accountId),
    ...turnContextFields({
      msg,
      decision,
      room: { selfName: room.selfName, conversationName: room.conversationName, memberNames: room.memberNames() },
      instructions: readInstructions(deps.workspaceDir),
      now: deps.now?.() ?? new Date(),
    }),
    ...(image ? { media: toInboundMediaFacts([{ path: image.path, contentType: image.contentType ?? stored!.contentType, messageId: msg.messageId }]) } : {}),
  });
  await rt.session.recordInboundSession({
    storePath,
    sessionKey: ctxPayload.SessionKey ?? route.sessionKey,
    ctx: ctxPayload,
    onRecordError: (err: unknown) => log?.error?.(`convos: recording session failed: ${String(err)}`),
  });

  // A reaction is not a message to thread to; everything else is answered in its thread.
  const replyTo = msg.kind === "reaction" ? undefined : msg.messageId;
  let threaded = false;
  let delivered = false;
  await rt.reply.dispatchReplyWithBufferedBlockDispatcher({
    ctx: ctxPayload,
    cfg,
    dispatcherOptions: {
      deliver: async (payload: { text?: string; mediaUrl?: string; mediaUrls?: string[]; isError?: boolean }) => {
        // The model refused for lack of credits: plain words once, not OpenClaw's error text.
        const credit = creditReply(payload, deps.credits ?? creditNoticeBeside(service.opts.stateFile), service.opts.pool, log);
        if (credit.kind === "drop") return;
        if (credit.kind === "notice") {
          await service.send(credit.text, threaded ? undefined : replyTo);
          threaded = true;
          delivered = true;
          return;
        }
        const media = [...(payload.mediaUrls ?? []), ...(payload.mediaUrl ? [payload.mediaUrl] : [])];
        const plain = payload.text ? markdownToPlainText(payload.text) : "";
        if (plain) {
          const limit = rt.text?.resolveTextChunkLimit?.({ cfg, channel: CHANNEL_ID, accountId }) ?? 4000;
          for (const chunk of rt.text?.chunkMarkdownText?.(plain, limit) ?? [plain]) {
            // Only the first message of an answer threads; the rest follow it.
            await service.send(chunk, threaded ? undefined : replyTo);
            threaded = true;
          }
        }
        if (media.length) await deliverMedia([...new Set(media)], deps, threaded ? undefined : replyTo);
        delivered ||= Boolean(plain) || media.length > 0;
      },
      onError: (err: unknown, info: { kind?: string }) => log?.error?.(`convos: ${info?.kind ?? "reply"} delivery failed: ${String(err)}`),
    },
  });
  return delivered;
}
