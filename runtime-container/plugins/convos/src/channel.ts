// The `convos` channel as OpenClaw sees it: one account, one group conversation, outbound
// text through the running `agent serve` process, and a message tool limited to send/react.
import { AsyncLocalStorage } from "node:async_hooks";
import { createChannelPluginBase, createChatChannelPlugin } from "openclaw/plugin-sdk/channel-core";
import type { InboundMessage } from "./convos-service.ts";
import { CHANNEL_ID, dispatchInbound } from "./inbound-dispatch.ts";
import { AGENT_ACTIONS, runAgentAction } from "./message-actions.ts";
import { currentService, currentRuntime } from "./service-singleton.ts";
import type { ChannelConfig } from "./settings.ts";

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
  const trimmed = raw.trim().replace(/^convos:/iu, "").trim();
  return trimmed || undefined;
}

// OpenClaw refuses work for a moment while it restarts internally or while its state
// database is busy (seen under heavy CPU load); both fail before the agent runs, so the
// message is offered again rather than lost.
const TRANSIENT = /GatewayDrainingError|StateDatabaseCoordinatorContentionError|Gateway is draining|owns state-/u;
const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000];

async function dispatchWithRetry(msg: InboundMessage, deps: Parameters<typeof dispatchInbound>[1], log?: Log): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await dispatchInbound(msg, deps);
      return;
    } catch (err) {
      const text = `${(err as Error)?.name ?? ""}: ${String(err)}`;
      const delay = RETRY_DELAYS_MS[attempt];
      if (!TRANSIENT.test(text) || delay === undefined) {
        log?.error?.(`convos: handling inbound message ${msg.messageId} failed: ${String(err)}`);
        return;
      }
      log?.warn?.(`convos: OpenClaw is busy (${String(err)}); offering message ${msg.messageId} again in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
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
  // Inbound events surface in whatever async context spawned `agent serve` — often an HTTP
  // request (create/join) that OpenClaw has since closed, which makes it refuse new agent
  // work as "draining". Dispatch from the channel account's own context instead.
  const inAccountContext = AsyncLocalStorage.snapshot();
  const unsubscribe = service.onInbound((msg) => inAccountContext(() => {
    const deps = {
      channelRuntime: channelRuntime as never,
      // The live snapshot follows config hot-reloads; the start-time config is the fallback.
      loadConfig: () => (runtime?.config?.current?.() ?? ctx.cfg) as Record<string, unknown>,
      service,
      accountId: ctx.accountId,
      log: ctx.log,
    };
    void dispatchWithRetry(msg, deps, ctx.log);
  }));
  ctx.setStatus?.({ accountId: ctx.accountId, running: true, lastStartAt: Date.now() });
  ctx.log?.info?.("convos: channel started");
  await new Promise<void>((resolve) => {
    if (ctx.abortSignal.aborted) return resolve();
    ctx.abortSignal.addEventListener("abort", () => resolve(), { once: true });
  });
  unsubscribe();
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
  capabilities: { chatTypes: ["group"], reactions: true, threads: false, media: false },
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
      "- Convos: you live in one group chat. Reply normally; to acknowledge without a message use `action=react` with `messageId` and `emoji` (for example 👀).",
      "- Convos: only `send` and `react` exist; renaming, locking or exploding the chat is not yours to do.",
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
      describeMessageTool: () => ({ actions: AGENT_ACTIONS }),
      supportsAction: ({ action }: { action: string }) => (AGENT_ACTIONS as readonly string[]).includes(action),
      handleAction: (ctx: { action: string; params: Record<string, unknown> }) => runAgentAction(requireService(), ctx),
    },
    status: { defaultRuntime: { accountId: "default", running: false, lastStartAt: null, lastStopAt: null, lastError: null } },
    gateway: { startAccount },
  } as never,
  threading: { topLevelReplyToMode: "off" },
  outbound: {
    deliveryMode: "direct",
    textChunkLimit: 4000,
    sendText: async (params: { text: string; replyToId?: string | null }) => {
      const result = await requireService().send(params.text, params.replyToId ?? undefined);
      return { channel: CHANNEL_ID, messageId: result.messageId ?? "" };
    },
  } as never,
});
