// "Ready" means: the gateway process runs and the convos plugin inside it answers its status
// route. Answers are cached briefly so health polling stays cheap and side-effect free.
import type { ConvosStatus } from "../plugins/convos/src/convos-service.ts";
import type { GatewaySupervisor } from "./gateway-supervisor.ts";
import type { PluginClient } from "./plugin-client.ts";

export type { ConvosStatus };
export type Readiness = { ready: true; status: ConvosStatus } | { ready: false; reason: string };

export class ReadinessProbe {
  private cached: { at: number; value: Readiness } | null = null;
  private inflight: Promise<Readiness> | null = null;
  private readonly supervisor: GatewaySupervisor;
  private readonly plugin: PluginClient;
  private readonly cacheMs: number;
  private readonly bootId: string | null;
  /** `bootId` is what this runtime handed its gateway; an answer carrying another comes from someone else's process. */
  constructor(supervisor: GatewaySupervisor, plugin: PluginClient, cacheMs = 500, bootId: string | null = null) {
    this.supervisor = supervisor;
    this.plugin = plugin;
    this.cacheMs = cacheMs;
    this.bootId = bootId;
  }

  invalidate(): void {
    this.cached = null;
  }

  async check(): Promise<Readiness> {
    if (this.supervisor.state !== "running") return { ready: false, reason: `gateway ${this.supervisor.state}` };
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.value;
    this.inflight ??= this.probe().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async probe(): Promise<Readiness> {
    let value: Readiness;
    try {
      const reply = await this.plugin.call<ConvosStatus>("GET", "/convos/status", undefined, 2000);
      if (reply.status !== 200) value = { ready: false, reason: `convos plugin answered ${reply.status}` };
      // While our gateway cannot bind its port, whatever holds the port answers: never
      // hand out (or provision) another process's conversation as ours.
      else if (this.bootId && reply.body.bootId !== this.bootId) value = { ready: false, reason: "another process answers on the gateway port" };
      // The plugin answers before OpenClaw has started its channels; until the agent is
      // attached, a conversation could be created that nobody answers.
      else if (reply.body.agentAttached === false) value = { ready: false, reason: "gateway is starting its channels" };
      // The CLI said the conversation or identity is gone: this instance cannot recover.
      else if (reply.body.streamError) value = { ready: false, reason: `conversation stream stopped: ${reply.body.streamError}` };
      else if (reply.body.clean && identityNotReady(reply.body.identity)) value = { ready: false, reason: identityNotReady(reply.body.identity)! };
      else value = { ready: true, status: reply.body };
    } catch {
      value = { ready: false, reason: "gateway is starting (convos plugin not answering yet)" };
    }
    // A gateway that died while we asked is not ready, whatever the answer said.
    if (this.supervisor.state !== "running") value = { ready: false, reason: `gateway ${this.supervisor.state}` };
    this.cached = { at: Date.now(), value };
    return value;
  }
}

/** An idle instance is handed out only once its XMTP inbox exists, so a claim does no registration. */
export function identityNotReady(identity: ConvosStatus["identity"] | undefined): string | null {
  if (!identity || identity.state === "registered" || identity.state === "off") return null;
  if (identity.state === "retrying") {
    return `XMTP identity registration failed (attempt ${identity.attempts}): ${identity.error ?? "unknown error"}; retrying at ${identity.nextRetryAt ?? "soon"}`;
  }
  return "registering the XMTP identity";
}
