// Everything the instance does with its one Convos conversation. Independent of OpenClaw so
// the same code serves the real gateway plugin and the stand-in gateway used without one.
import fs from "node:fs";
import path from "node:path";
import { AgentServe, type MessageEvent, type ServeEvent } from "./agent-serve.ts";
import { BindingStore, EMPTY_BINDING, type Binding } from "./binding-store.ts";
import { ConvosCliError, runConvosJson } from "./cli-runner.ts";
import { requestSelfDestruct, type SelfDestructConfig, type SelfDestructResult } from "./pool-client.ts";

export type XmtpEnv = "dev" | "production";

export type InboundMessage = {
  conversationId: string;
  messageId: string;
  senderId: string;
  senderName: string | null;
  body: string;
  timestamp: Date;
  contentType: string;
  catchup: boolean;
};

export type ConvosServiceOptions = {
  bin: string;
  /** CONVOS_HOME: the XMTP identity and databases; keep it on a volume. */
  home: string;
  env: XmtpEnv;
  stateFile: string;
  /** Workspace whose INSTRUCTIONS.md belongs to the current conversation (cleared on reset). */
  workspaceDir?: string;
  pool: SelfDestructConfig;
  heartbeatSeconds?: number;
  serveBackoff?: { initialMs: number; maxMs: number };
  joinTimeoutSeconds?: number;
  pendingPollMs?: number;
  cliTimeoutMs?: number;
  log?: (line: string) => void;
};

export class ServiceError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export type CreateInput = {
  name?: string;
  profileName?: string;
  description?: string;
  env?: XmtpEnv;
  permissions?: "all-members" | "admin-only";
  profileImage?: string;
  metadata?: Record<string, string | number | boolean>;
};

export type JoinInput = {
  inviteUrl: string;
  profileName?: string;
  env?: XmtpEnv;
  profileImage?: string;
  metadata?: Record<string, string | number | boolean>;
};

export type ConvosStatus = {
  conversationId: string | null;
  inboxId: string | null;
  pending: boolean;
  clean: boolean;
  streaming: boolean;
  exploded: boolean;
  inviteUrl: string | null;
  streamError: string | null;
  /** True once something consumes inbound messages (the OpenClaw channel account is running). */
  agentAttached: boolean;
};

type CreateOutput = { conversationId: string; inboxId: string; invite: { slug: string; url: string } };
type JoinOutput = { status: "joined" | "timeout" | "request_sent"; conversationId?: string; inboxId: string };
type ListRow = { conversationId: string; kind?: string; isActive?: boolean };

function metadataArgs(metadata: CreateInput["metadata"]): string[] {
  return Object.entries(metadata ?? {}).flatMap(([k, v]) => ["--metadata", `${k}=${String(v)}`]);
}

export class ConvosService {
  readonly opts: ConvosServiceOptions;
  private readonly store: BindingStore;
  private binding: Binding;
  private serve: AgentServe | null = null;
  private busy: string | null = null;
  private pendingTimer: NodeJS.Timeout | null = null;
  private inboundHandlers = new Set<(msg: InboundMessage) => void>();
  private eventHandlers = new Set<(event: ServeEvent) => void>();
  private readonly sentIds = new Set<string>();
  /** Messages that arrived before the agent attached (gateway still starting its channels). */
  private readonly unclaimed: InboundMessage[] = [];
  private closed = false;

  constructor(opts: ConvosServiceOptions) {
    this.opts = opts;
    this.store = new BindingStore(opts.stateFile);
    this.binding = this.store.load();
  }

  /** Registers an inbound-message consumer; returns the unsubscribe function. */
  onInbound(handler: (msg: InboundMessage) => void): () => void {
    this.inboundHandlers.add(handler);
    for (const msg of this.unclaimed.splice(0)) handler(msg);
    return () => this.inboundHandlers.delete(handler);
  }

  private deliverInbound(msg: InboundMessage): void {
    if (this.inboundHandlers.size === 0) {
      this.unclaimed.push(msg);
      if (this.unclaimed.length > 200) this.unclaimed.shift();
      return;
    }
    for (const handler of this.inboundHandlers) handler(msg);
  }

  onServeEvent(handler: (event: ServeEvent) => void): () => void {
    this.eventHandlers.add(handler);
    return () => this.eventHandlers.delete(handler);
  }

  /** Picks up where a previous process left off: stream the bound conversation, or keep waiting for a pending join. */
  resume(): void {
    this.closed = false;
    if (this.binding.conversationId && !this.binding.exploded && !this.serve) this.startServe(this.binding.conversationId);
    else if (this.binding.pending) this.schedulePendingPoll();
  }

  status(): ConvosStatus {
    return {
      conversationId: this.binding.conversationId,
      inboxId: this.binding.inboxId ?? this.serve?.inboxId ?? null,
      pending: this.binding.pending,
      clean: !this.binding.used && this.busy === null,
      streaming: this.serve?.streaming ?? false,
      exploded: this.binding.exploded,
      inviteUrl: this.binding.inviteUrl,
      streamError: this.serve?.gaveUp ?? null,
      agentAttached: this.inboundHandlers.size > 0,
    };
  }

  private cli() {
    return { bin: this.opts.bin, home: this.opts.home, env: this.opts.env, timeoutMs: this.opts.cliTimeoutMs };
  }

  private claimSlot(what: string, env: XmtpEnv | undefined): void {
    if (env && env !== this.opts.env) {
      throw new ServiceError(400, "env_mismatch", `this instance runs on XMTP ${this.opts.env}, not ${env}`);
    }
    if (this.busy) throw new ServiceError(409, "already_bound", `a ${this.busy} is already in progress on this instance`);
    if (this.binding.used) {
      throw new ServiceError(409, "already_bound", "this instance already has its conversation; destroy it and use a fresh one");
    }
    this.busy = what;
  }

  private persist(next: Partial<Binding>): void {
    this.binding = { ...this.binding, ...next };
    this.store.save(this.binding);
  }

  async create(input: CreateInput): Promise<{ conversationId: string; inviteUrl: string; inviteSlug: string }> {
    this.claimSlot("create", input.env);
    try {
      const out = await runConvosJson<CreateOutput>([
        "conversations", "create",
        ...(input.name ? ["--name", input.name] : []),
        ...(input.description ? ["--description", input.description] : []),
        ...(input.profileName ? ["--profile-name", input.profileName] : []),
        ...(input.profileImage ? ["--profile-image", input.profileImage] : []),
        "--permissions", input.permissions ?? "all-members",
        ...metadataArgs(input.metadata),
      ], this.cli());
      if (!out?.conversationId || !out.invite?.url) throw new ServiceError(502, "cli_failed", "convos create returned no conversation");
      this.persist({
        conversationId: out.conversationId,
        inviteUrl: out.invite.url,
        inviteSlug: out.invite.slug,
        inboxId: out.inboxId ?? null,
        pending: false,
        profileName: input.profileName ?? null,
        boundAt: new Date().toISOString(),
        used: true,
      });
      this.startServe(out.conversationId);
      return { conversationId: out.conversationId, inviteUrl: out.invite.url, inviteSlug: out.invite.slug };
    } catch (err) {
      throw toServiceError(err);
    } finally {
      this.busy = null;
    }
  }

  async join(input: JoinInput): Promise<{ status: "joined" | "pending_acceptance"; conversationId: string | null }> {
    this.claimSlot("join", input.env);
    try {
      const out = await runConvosJson<JoinOutput>([
        "conversations", "join", input.inviteUrl,
        "--timeout", String(this.opts.joinTimeoutSeconds ?? 45),
        ...(input.profileName ? ["--profile-name", input.profileName] : []),
        ...(input.profileImage ? ["--profile-image", input.profileImage] : []),
        ...metadataArgs(input.metadata),
      ], { ...this.cli(), timeoutMs: ((this.opts.joinTimeoutSeconds ?? 45) + 30) * 1000 });
      const base = { joinUrl: input.inviteUrl, inboxId: out.inboxId ?? null, profileName: input.profileName ?? null, boundAt: new Date().toISOString(), used: true };
      if (out.status === "joined" && out.conversationId) {
        this.persist({ ...base, conversationId: out.conversationId, pending: false });
        this.startServe(out.conversationId);
        return { status: "joined", conversationId: out.conversationId };
      }
      // The creator's app must be online to accept; keep checking in the background.
      this.persist({ ...base, conversationId: null, pending: true });
      this.schedulePendingPoll();
      return { status: "pending_acceptance", conversationId: null };
    } catch (err) {
      throw toServiceError(err);
    } finally {
      this.busy = null;
    }
  }

  private schedulePendingPoll(): void {
    if (this.pendingTimer || this.closed) return;
    this.pendingTimer = setTimeout(() => {
      this.pendingTimer = null;
      void this.checkPendingJoin();
    }, this.opts.pendingPollMs ?? 10_000);
    this.pendingTimer.unref?.();
  }

  /** Visible for tests: one poll of the conversation list while a join is pending. */
  async checkPendingJoin(): Promise<boolean> {
    if (!this.binding.pending || this.closed) return false;
    try {
      const out = await runConvosJson<ListRow[] | { count: number }>(["conversations", "list", "--sync"], this.cli());
      const rows = Array.isArray(out) ? out : [];
      // The instance never had another group, so the first active one is the joined conversation.
      const joined = rows.find((r) => (r.kind ?? "group") === "group" && r.isActive !== false);
      if (joined) {
        this.persist({ conversationId: joined.conversationId, pending: false });
        this.opts.log?.("pending join accepted; conversation bound");
        this.startServe(joined.conversationId);
        return true;
      }
    } catch (err) {
      this.opts.log?.(`checking pending join failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.schedulePendingPoll();
    return false;
  }

  private startServe(conversationId: string): void {
    if (this.closed) return;
    const serve = new AgentServe({
      ...this.cli(),
      conversationId,
      profileName: this.binding.profileName ?? undefined,
      heartbeatSeconds: this.opts.heartbeatSeconds ?? 30,
      backoff: this.opts.serveBackoff,
      log: this.opts.log,
    });
    serve.on("event", (event: ServeEvent) => this.handleServeEvent(conversationId, event));
    this.serve = serve;
    serve.start();
  }

  private handleServeEvent(conversationId: string, event: ServeEvent): void {
    if (event.event === "ready" && typeof event.inboxId === "string" && event.inboxId !== this.binding.inboxId) {
      this.persist({ inboxId: event.inboxId, ...(typeof event.inviteUrl === "string" && !this.binding.inviteUrl ? { inviteUrl: event.inviteUrl } : {}) });
    }
    if (event.event === "sent" && typeof event.id === "string") this.rememberSent(event.id);
    if (event.event === "message") {
      const msg = toInbound(conversationId, event as MessageEvent);
      const ownInbox = this.binding.inboxId ?? this.serve?.inboxId;
      // The CLI already drops our own messages; this also covers ids we sent through one-shot commands.
      if (msg && msg.senderId !== ownInbox && !this.sentIds.has(msg.messageId)) this.deliverInbound(msg);
    }
    for (const handler of this.eventHandlers) handler(event);
  }

  private rememberSent(id: string): void {
    this.sentIds.add(id);
    if (this.sentIds.size > 1000) this.sentIds.delete(this.sentIds.values().next().value as string);
  }

  private requireStream(): AgentServe {
    if (!this.binding.conversationId || this.binding.exploded) throw new ServiceError(409, "not_bound", "this instance has no conversation");
    if (!this.serve?.streaming) throw new ServiceError(503, "stream_unavailable", this.serve?.gaveUp ?? "the conversation stream is (re)starting; try again shortly");
    return this.serve;
  }

  async send(text: string, replyTo?: string): Promise<{ messageId: string | null }> {
    const event = await this.requireStream().command({ type: "send", text, ...(replyTo ? { replyTo } : {}) }).catch(wrapStreamError);
    return { messageId: typeof event.id === "string" ? event.id : null };
  }

  async react(messageId: string, emoji: string, action: "add" | "remove" = "add"): Promise<{ reactionId: string | null }> {
    const event = await this.requireStream().command({ type: "react", messageId, emoji, action }).catch(wrapStreamError);
    return { reactionId: typeof event.id === "string" ? event.id : null };
  }

  async rename(name: string): Promise<void> {
    await this.requireStream().command({ type: "rename", name }).catch(wrapStreamError);
  }

  async lock(unlock: boolean): Promise<void> {
    await this.requireStream().command({ type: unlock ? "unlock" : "lock" }).catch(wrapStreamError);
  }

  /** Irreversible: removes everyone, leaves the instance unbound and asks the pool to destroy it. */
  async explode(): Promise<{ exploded: true; selfDestruct: SelfDestructResult }> {
    const serve = this.requireStream();
    await serve.command({ type: "explode" }).catch(wrapStreamError);
    await serve.stop();
    this.serve = null;
    this.persist({ exploded: true, conversationId: null, pending: false, inviteUrl: null, inviteSlug: null });
    const selfDestruct = await requestSelfDestruct(this.opts.pool, "conversation exploded");
    this.opts.log?.(selfDestruct.requested ? "asked the pool to destroy this instance" : `self-destruct request failed: ${selfDestruct.error}`);
    return { exploded: true, selfDestruct };
  }

  /** Wipes the XMTP identity and the binding: the instance is clean again. */
  async reset(): Promise<void> {
    if (this.busy) throw new ServiceError(409, "busy", `a ${this.busy} is in progress`);
    await this.stopStream();
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = null;
    try {
      await runConvosJson(["reset", "--force"], this.cli());
    } catch (err) {
      throw toServiceError(err);
    }
    this.binding = { ...EMPTY_BINDING };
    this.store.clear();
    if (this.opts.workspaceDir) fs.rmSync(path.join(this.opts.workspaceDir, "INSTRUCTIONS.md"), { force: true });
  }

  private async stopStream(): Promise<void> {
    const serve = this.serve;
    this.serve = null;
    if (serve) await serve.stop();
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = null;
    await this.stopStream();
  }

  // chat-agent: what the group-chat behaviour needs until plugin-runtime's serveCommand/runCli
  // land — the agent's display name, profile updates and sending a workspace file.
  profileName(): string | null {
    return this.binding.profileName ?? null;
  }

  async updateProfile(profile: { name?: string; image?: string }): Promise<void> {
    await this.requireStream().command({ type: "update-profile", ...profile } as never).catch(wrapStreamError);
    if (profile.name) this.persist({ profileName: profile.name });
  }

  async attach(file: string, replyTo?: string): Promise<{ messageId: string | null }> {
    const event = await this.requireStream().command({ type: "attach", file, ...(replyTo ? { replyTo } : {}) } as never).catch(wrapStreamError);
    return { messageId: typeof event.id === "string" ? event.id : null };
  }

  cliOptions() {
    return this.cli();
  }
}

function toInbound(conversationId: string, event: MessageEvent): InboundMessage | null {
  if (typeof event.id !== "string" || typeof event.senderInboxId !== "string") return null;
  const body = typeof event.content === "string" ? event.content : "";
  if (!body.trim()) return null;
  const ct = event.contentType as { typeId?: string } | string | undefined;
  const sentAt = new Date(typeof event.sentAt === "string" ? event.sentAt : Date.now());
  return {
    conversationId,
    messageId: event.id,
    senderId: event.senderInboxId,
    senderName: event.senderProfile?.name ?? null,
    body,
    timestamp: Number.isNaN(sentAt.getTime()) ? new Date() : sentAt,
    contentType: typeof ct === "string" ? ct : (ct?.typeId ?? "text"),
    catchup: event.catchup === true,
  };
}

function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof ConvosCliError) {
    if (/invite|signature|expired|cannot join your own/iu.test(err.message)) return new ServiceError(400, "invalid_invite", err.message);
    return new ServiceError(502, "cli_failed", err.message);
  }
  return new ServiceError(500, "internal", err instanceof Error ? err.message : String(err));
}

function wrapStreamError(err: unknown): never {
  if (err instanceof ServiceError) throw err;
  throw new ServiceError(502, "stream_command_failed", err instanceof Error ? err.message : String(err));
}
