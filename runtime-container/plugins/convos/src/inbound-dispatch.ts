// Hands one Convos message to the agent through OpenClaw's reply pipeline and delivers the
// agent's reply back into the conversation.
import type { ConvosService, InboundMessage } from "./convos-service.ts";

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

export type InboundDeps = {
  channelRuntime: ChannelRuntime;
  loadConfig: () => Record<string, unknown> & { session?: { store?: unknown } };
  service: ConvosService;
  accountId: string;
  log?: Logger;
};

/** The context fields the agent sees for one inbound Convos message. */
export function inboundContextFields(msg: InboundMessage, body: string, sessionKey: string, accountId: string): Record<string, unknown> {
  return {
    Body: body,
    RawBody: msg.body,
    CommandBody: msg.body,
    BodyForAgent: body,
    From: `${CHANNEL_ID}:${msg.senderId}`,
    To: `${CHANNEL_ID}:${msg.conversationId}`,
    SessionKey: sessionKey,
    AccountId: accountId,
    ChatType: "group",
    ConversationLabel: "Convos group",
    GroupSubject: "Convos group",
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

export async function dispatchInbound(msg: InboundMessage, deps: InboundDeps): Promise<void> {
  const { channelRuntime: rt, service, accountId, log } = deps;
  const cfg = deps.loadConfig();
  const route = rt.routing.resolveAgentRoute({ cfg, channel: CHANNEL_ID, accountId, peer: { kind: "group", id: msg.conversationId } });
  const storePath = rt.session.resolveStorePath(cfg.session?.store, { agentId: route.agentId });
  const previousTimestamp = rt.session.readSessionUpdatedAt({ storePath, sessionKey: route.sessionKey });
  const body = rt.reply.formatAgentEnvelope({
    channel: "Convos",
    from: msg.senderName ? `${msg.senderName} (${msg.senderId.slice(0, 8)})` : msg.senderId.slice(0, 12),
    timestamp: msg.timestamp.getTime(),
    previousTimestamp,
    envelope: rt.reply.resolveEnvelopeFormatOptions(cfg),
    body: `${msg.body}\n[message id: ${msg.messageId}]`,
  });
  const ctxPayload = rt.reply.finalizeInboundContext(inboundContextFields(msg, body, route.sessionKey, accountId));
  log?.info?.(`convos: inbound message ${msg.messageId} from ${msg.senderId.slice(0, 12)} dispatched to agent ${route.agentId}`);
  await rt.session.recordInboundSession({
    storePath,
    sessionKey: ctxPayload.SessionKey ?? route.sessionKey,
    ctx: ctxPayload,
    onRecordError: (err: unknown) => log?.error?.(`convos: recording session failed: ${String(err)}`),
  });
  await rt.reply.dispatchReplyWithBufferedBlockDispatcher({
    ctx: ctxPayload,
    cfg,
    dispatcherOptions: {
      deliver: async (payload: { text?: string }) => {
        const text = payload.text?.trim();
        if (!text) return;
        const limit = rt.text?.resolveTextChunkLimit?.({ cfg, channel: CHANNEL_ID, accountId }) ?? 4000;
        const chunks = rt.text?.chunkMarkdownText?.(text, limit) ?? [text];
        for (const chunk of chunks) await service.send(chunk);
      },
      onError: (err: unknown, info: { kind?: string }) => log?.error?.(`convos: ${info?.kind ?? "reply"} delivery failed: ${String(err)}`),
    },
  });
}
