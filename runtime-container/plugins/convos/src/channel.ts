// The `convos` channel as OpenClaw sees it: one account, one group conversation, outbound
// text and files through the running `agent serve` process, and a message tool limited to
// send, react, sendAttachment and set-profile.
import { AsyncLocalStorage } from "node:async_hooks";
import path from "node:path";
import { createChannelPluginBase, createChatChannelPlugin } from "openclaw/plugin-sdk/channel-core";
import { resolveWorkspaceFile } from "./attachments.ts";
import type { ConvosService } from "./convos-service.ts";
import { creditNoticeBeside, creditReply } from "./credit-notice.ts";
import { GreetingMarker, greetOnce } from "./greeting.ts";
import { CHANNEL_ID, handleInbound, type InboundDeps } from "./inbound-dispatch.ts";
import { AGENT_ACTIONS, PROFILE_SCHEMA, WORKSPACE_FILE_SCHEMA, runAgentAction } from "./message-actions.ts";
import { markdownToPlainText } from "./plain-text.ts";
import { RoomState } from "./room-state.ts";
import { currentService, currentRuntime } from "./service-singleton.ts";
import type { ChannelConfig } from "./settings.ts";
import { readInstructions } from "./turn-context.ts";

type ResolvedAccount = { accountId: string; enabled: boolean; configured: boolean; env: "dev" | "production" };
type Log = { info?: (m: string) => void; warn?: (m: string) => void; error?: (m: string) => void };
type StartContext = {
  accountId: string;
  cfg: unknown;
  abortSignal: AbortSignal;
  channelRuntime?: unknown;
  log?: Log;
  setStatus?: (s: Record<string, unknown>) => void;
};

function channelSection(cfg: unknown): ChannelConfig {
  return ((cfg as { channels?: Record<string, ChannelConfig> })?.channels?.[CHANNEL_ID] ?? {}) as ChannelConfig;
}

function resolveAccount(cfg: unknown, accountId?: string | null): ResolvedAccount {
  const section = channelSection(cfg);
  return { accountId: accountId ?? "default", enabled: section.enabled !== false, configured: true, env: section.env ?? "dev" };
}

function requireService() {
  const service = currentService();
  if (!service) throw new Error("convos: service not started");
  return service;
}

function normalizeTarget(raw: string): string | undefined {
  const trimmed = raw
    .trim()
    .replace(/^convos:/iu, "")
    .trim();
  return trimmed || undefined;
}

/** The room as the agent knows it, kept current from the serve events; greets once per conversation. */
function followRoom(service: ConvosService, log?: Log): { room: RoomState; stop: () => void } {
  const initial = service.status();
  const room = new RoomState({
    selfName: service.profileName(),
    conversationName: initial.name,
    // Beside the binding: replies to what the agent said before a restart still count as addressed.
    ownMessagesFile: path.join(path.dirname(service.opts.stateFile), "convos-own-messages.json"),
  });
  room.selfInboxId = initial.inboxId;
  const marker = GreetingMarker.besideBinding(service.opts.stateFile);
  let greeting: Promise<unknown> | null = null;
  const greet = (conversationId: string) => {
    greeting ??= greetOnce({
      conversationId,
      marker,
      name: room.selfName ?? service.profileName(),
      instructions: readInstructions(service.opts.workspaceDir),
      send: (text) => service.send(text),
    })
      .then((sent) => sent && log?.info?.("convos: introduced the agent to the conversation"))
      .catch((err) => log?.warn?.(`convos: greeting failed (retried on the next start): ${String(err)}`))
      .finally(() => (greeting = null));
  };
  const unsubscribe = service.onServeEvent((event) => {
    const e = event as Record<string, unknown>;
    if (e.event === "ready" && typeof e.inboxId === "string") {
      room.ready({ inboxId: e.inboxId, name: typeof e.name === "string" ? e.name : "" });
      // Created or joined since the account started: the binding now has the profile name.
      room.selfName ??= service.profileName();
      if (typeof e.conversationId === "string") greet(e.conversationId);
    } else if (e.event === "sent") {
      if (typeof e.id === "string") room.rememberOwn(e.id);
      if (e.type === "rename" && typeof e.name === "string") room.conversationName = e.name;
      if (e.type === "update-profile" && typeof e.name === "string" && e.name) room.selfName = e.name;
    } else if (e.event === "profile_update" && typeof e.senderInboxId === "string") {
      room.member(e.senderInboxId, typeof e.name === "string" ? e.name : null);
    }
  });
  // Started after the stream was already up (gateway restart): the marker decides.
  if (initial.conversationId && initial.streaming) greet(initial.conversationId);
  return { room, stop: unsubscribe };
}

/** Feeds inbound messages to the agent for as long as OpenClaw keeps the account running. */
async function startAccount(ctx: StartContext): Promise<void> {
  const service = requireService();
  const runtime = currentRuntime();
  const channelRuntime = ctx.channelRuntime ?? runtime?.channel;
  if (!channelRuntime) {
    ctx.log?.error?.("convos: channel runtime unavailable; inbound messages cannot reach the agent");
    return;
  }
  const { room, stop } = followRoom(service, ctx.log);
  // Inbound events surface in whatever async context spawned `agent serve` — often an HTTP
  // request (create/join) that OpenClaw has since closed, which makes it refuse new agent
  // work as "draining". Dispatch from the channel account's own context instead.
  const inAccountContext = AsyncLocalStorage.snapshot();
  const unsubscribe = service.onInbound((msg) =>
    inAccountContext(() => {
      const deps: InboundDeps = {
        channelRuntime: channelRuntime as never,
        // The live snapshot follows config hot-reloads; the start-time config is the fallback.
        loadConfig: () => (runtime?.config?.current?.() ?? ctx.cfg) as Record<string, unknown>,
        service,
        room,
        accountId: ctx.accountId,
        workspaceDir: service.opts.workspaceDir,
        log: ctx.log,
      };
      void handleInbound(msg, deps).catch((err) => ctx.log?.error?.(`convos: handling inbound message ${msg.messageId} failed: ${String(err)}`));
    }),
  );
  ctx.setStatus?.({ accountId: ctx.accountId, running: true, lastStartAt: Date.now() });
  ctx.log?.info?.("convos: channel started");
  await new Promise<void>((resolve) => {
    if (ctx.abortSignal.aborted) return resolve();
    ctx.abortSignal.addEventListener("abort", () => resolve(), { once: true });
  });
  unsubscribe();
  stop();
}

const base = createChannelPluginBase<ResolvedAccount>({
  id: CHANNEL_ID,
  meta: {
    id: CHANNEL_ID,
    label: "Convos",
    selectionLabel: "Convos (XMTP)",
    docsPath: "/channels/convos",
    blurb: "End-to-end encrypted Convos group chat over XMTP.",
  },
  capabilities: { chatTypes: ["group"], reactions: true, threads: false, media: true },
  reload: { configPrefixes: [`channels.${CHANNEL_ID}`] },
  config: {
    listAccountIds: () => ["default"],
    defaultAccountId: () => "default",
    resolveAccount,
    inspectAccount: (cfg: unknown) => ({ enabled: channelSection(cfg).enabled !== false, configured: true }),
    isConfigured: () => true,
    describeAccount: (account: ResolvedAccount) => ({ accountId: account.accountId, enabled: account.enabled, configured: true, env: account.env }),
  },
  setup: { applyAccountConfig: ({ cfg }: { cfg: unknown }) => cfg },
  agentPrompt: {
    messageToolHints: () => [
      "- Convos: you live in one group chat. Reply normally; to answer with just an emoji use `action=react` with `messageId` and `emoji`.",
      "- Convos: to share a file from your workspace use `action=sendAttachment` with `filePath` (relative to the workspace) and optional `caption`.",
      "- Convos: when asked to change your name or picture use `action=set-profile` with `displayName` and/or `avatar` (https URL or workspace image).",
      "- Convos: only send, react, sendAttachment and set-profile exist; renaming, locking or exploding the chat is not yours to do.",
    ],
  },
} as never);

export const convosChannel = createChatChannelPlugin<ResolvedAccount>({
  // createChannelPluginBase keeps only the fields it knows about; the runtime adapters
  // (gateway, messaging, actions, status) sit next to it.
  base: {
    ...(base as object),
    messaging: {
      normalizeTarget,
      targetResolver: { looksLikeId: (raw: string, normalized?: string) => /^[0-9a-f-]{16,}$/iu.test((normalized ?? raw).trim()), hint: "<conversationId>" },
    },
    actions: {
      describeMessageTool: () => ({ actions: AGENT_ACTIONS, schema: [PROFILE_SCHEMA, WORKSPACE_FILE_SCHEMA], mediaSourceParams: { sendAttachment: ["filePath", "path", "media"] } }),
      supportsAction: ({ action }: { action: string }) => (AGENT_ACTIONS as readonly string[]).includes(action),
      handleAction: (ctx: { action: string; params: Record<string, unknown> }) => {
        const service = requireService();
        return runAgentAction(service, ctx, service.opts.workspaceDir);
      },
    },
    // Every member message reaches the agent (it decides about ambient chatter itself), so
    // OpenClaw's group intro says "always-on" rather than "trigger-only".
    groups: { resolveRequireMention: () => false },
    status: { defaultRuntime: { accountId: "default", running: false, lastStartAt: null, lastStopAt: null, lastError: null } },
    gateway: { startAccount },
  } as never,
  threading: { topLevelReplyToMode: "off" },
  outbound: {
    deliveryMode: "direct",
    textChunkLimit: 4000,
    sendText: async (params: { text: string; replyToId?: string | null }) => {
      const service = requireService();
      // Runs outside a turn (scheduled, announced) that hit an exhausted key say so in plain words too, once.
      const credit = creditReply({ text: params.text }, creditNoticeBeside(service.opts.stateFile), service.opts.pool);
      if (credit.kind === "drop") return { channel: CHANNEL_ID, messageId: "" };
      const result = await service.send(credit.kind === "notice" ? credit.text : markdownToPlainText(params.text), params.replyToId ?? undefined);
      return { channel: CHANNEL_ID, messageId: result.messageId ?? "" };
    },
    sendMedia: async (params: { text?: string; mediaUrl?: string; replyToId?: string | null }) => {
      const service = requireService();
      if (!params.mediaUrl || !service.opts.workspaceDir || /^https?:/iu.test(params.mediaUrl)) throw new Error("convos: only workspace files can be attached");
      const sent = await service.serveCommand({ type: "attach", file: resolveWorkspaceFile(service.opts.workspaceDir, params.mediaUrl), ...(params.replyToId ? { replyTo: params.replyToId } : {}) });
      if (params.text?.trim()) await service.send(markdownToPlainText(params.text));
      return { channel: CHANNEL_ID, messageId: "id" in sent && typeof sent.id === "string" ? sent.id : "" };
    },
  } as never,
});
