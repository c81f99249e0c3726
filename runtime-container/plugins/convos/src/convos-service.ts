// Everything the instance does with its one Convos conversation. Independent of OpenClaw so
// the same code serves the real gateway plugin and the stand-in gateway used without one.
import fs from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { AgentServe, ServeCommandError, type ServeEvent } from "./agent-serve.ts";
import { BindingStore, EMPTY_BINDING, type Binding } from "./binding-store.ts";
import { CONTENT_TYPES, CreateResult, InviteResult, JoinResult, ListResult, MessagesResult, type MessageRow, type SentEvent, type ServeCommand } from "./cli-protocol.ts";
import { ConvosCliError, runConvosJson } from "./cli-runner.ts";
import { IdentityRegistrar, type Backoff, type IdentityStatus } from "./identity-registration.ts";
import { advance, CursorStore, gapStart, rowsToDispatch, sentAfterNs, type Cursor } from "./inbound-cursor.ts";
import { fromMessageRow, fromServeMessage, type InboundMessage } from "./inbound-message.ts";
import { reportJoin, requestSelfDestruct, type SelfDestructConfig, type SelfDestructResult } from "./pool-client.ts";

export type { InboundMessage };
export type XmtpEnv = "dev" | "production";

export type ConvosServiceOptions = {
  bin: string;
  /** CONVOS_HOME: the XMTP identity and databases; keep it on a volume. */
  home: string;
  env: XmtpEnv;
  stateFile: string;
  /** Where catch-up resumes after a restart; defaults next to stateFile. */
  cursorFile?: string;
  /** The agent's workspace: belongs to the conversation, wiped when it explodes. */
  workspaceDir?: string;
  pool: SelfDestructConfig;
  heartbeatSeconds?: number;
  serveBackoff?: Backoff;
  /** Create and register the XMTP identity while idle (default on). */
  preregister?: boolean;
  registerBackoff?: Backoff;
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

export type CliErrorRecord = { message: string; at: string; source: "serve" | "cli" };

export type ConvosStatus = {
  conversationId: string | null;
  inboxId: string | null;
  pending: boolean;
  clean: boolean;
  streaming: boolean;
  exploded: boolean;
  inviteUrl: string | null;
  name: string | null;
  locked: boolean;
  streamError: string | null;
  /** True once something consumes inbound messages (the OpenClaw channel account is running). */
  agentAttached: boolean;
  /** The CLI's latest error (an `error` line of agent serve, or a failed one-shot command). */
  lastError: CliErrorRecord | null;
  errorCount: number;
  lastHeartbeatAt: string | null;
  serveRestarts: number;
  identity: IdentityStatus;
  /** The runtime process that started this gateway (RUNTIME_BOOT_ID): the front server checks it is talking to its own gateway. */
  bootId: string | null;
};

/** How far before the newest seen message a catch-up looks when the gap's start is unknown. */
const GAP_LOOKBACK_MS = 15 * 60_000;

function metadataArgs(metadata: CreateInput["metadata"]): string[] {
  return Object.entries(metadata ?? {}).flatMap(([k, v]) => ["--metadata", `${k}=${String(v)}`]);
}

export class ConvosService {
  readonly opts: ConvosServiceOptions;
  private readonly store: BindingStore;
  private readonly cursorStore: CursorStore;
  private binding: Binding;
  private cursor: Cursor;
  private serve: AgentServe | null = null;
  private busy: string | null = null;
  private pendingTimer: NodeJS.Timeout | null = null;
  private explodeTimer: NodeJS.Timeout | null = null;
  private inboundHandlers = new Set<(msg: InboundMessage) => void>();
  private eventHandlers = new Set<(event: ServeEvent) => void>();
  private goneHandlers = new Set<(reason: string) => Promise<void> | void>();
  /** Messages that arrived before the agent attached (gateway still starting its channels). */
  private readonly unclaimed: InboundMessage[] = [];
  private catchup: { running: boolean; again: boolean; final: boolean } = { running: false, again: false, final: false };
  /** Messages from here on may have been missed (sentAt); cleared by a catch-up once the stream is surely up. */
  private gapFrom: string | null = null;
  /** The current serve child has not yet proven its streams with a heartbeat. */
  private awaitingFirstHeartbeat = false;
  private lastError: CliErrorRecord | null = null;
  private errorCount = 0;
  private wiping: Promise<SelfDestructResult> | null = null;
  private readonly registrar: IdentityRegistrar;
  /** One-shot CLI processes still running: a wipe waits for them (any of them would recreate the identity). */
  private readonly inflightCli = new Set<Promise<unknown>>();
  private closed = false;

  constructor(opts: ConvosServiceOptions) {
    this.opts = opts;
    this.store = new BindingStore(opts.stateFile);
    this.cursorStore = new CursorStore(opts.cursorFile ?? path.join(path.dirname(opts.stateFile), "convos-inbound-cursor.json"));
    this.binding = this.store.load();
    this.cursor = this.cursorStore.load();
    this.registrar = new IdentityRegistrar({
      run: (args) => runConvosJson(args, this.cli()),
      backoff: opts.registerBackoff,
      enabled: opts.preregister !== false,
      log: opts.log,
      onRegistered: (inboxId) => {
        if (!this.binding.used) this.persist({ inboxId });
      },
    });
    if (this.binding.inboxId) this.registrar.markRegistered(this.binding.inboxId);
  }

  /** Registers an inbound-message consumer; returns the unsubscribe function. */
  onInbound(handler: (msg: InboundMessage) => void): () => void {
    this.inboundHandlers.add(handler);
    for (const msg of this.unclaimed.splice(0)) handler(msg);
    return () => this.inboundHandlers.delete(handler);
  }

  /** Called when the conversation is gone for good (exploded, or the instance reset): what belongs to it must go too. */
  onConversationGone(handler: (reason: string) => Promise<void> | void): () => void {
    this.goneHandlers.add(handler);
    return () => this.goneHandlers.delete(handler);
  }

  private async conversationGone(reason: string): Promise<void> {
    for (const handler of this.goneHandlers) {
      try {
        await handler(reason);
      } catch (err) {
        this.opts.log?.(`cleaning up after "${reason}" failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  onServeEvent(handler: (event: ServeEvent) => void): () => void {
    this.eventHandlers.add(handler);
    return () => this.eventHandlers.delete(handler);
  }

  /** Hands a message to the agent side once, ever: the id is remembered on disk first. */
  private deliverInbound(msg: InboundMessage, sentAt: string): void {
    if (this.cursor.seen.includes(msg.messageId)) return;
    this.cursor = advance(this.cursor, msg.messageId, sentAt);
    this.cursorStore.save(this.cursor);
    if (this.inboundHandlers.size === 0) {
      this.unclaimed.push(msg);
      if (this.unclaimed.length > 200) this.unclaimed.shift();
      return;
    }
    for (const handler of this.inboundHandlers) handler(msg);
  }

  /** Picks up where a previous process left off: stream the bound conversation, keep waiting for a pending join, or get the identity ready. */
  resume(): void {
    this.closed = false;
    if (this.binding.exploded) {
      // The pool may not have heard us the first time.
      void this.askPoolToDestroy();
      return;
    }
    if (this.binding.explodesAt) this.scheduleExplosion(this.binding.explodesAt);
    if (this.binding.conversationId && !this.serve) this.startServe(this.binding.conversationId);
    else if (this.binding.pending) this.schedulePendingPoll();
    else if (!this.binding.used) void this.registrar.start();
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
      name: this.binding.name,
      locked: this.binding.locked,
      streamError: this.serve?.gaveUp ?? null,
      agentAttached: this.inboundHandlers.size > 0,
      lastError: this.lastError,
      errorCount: this.errorCount,
      lastHeartbeatAt: this.serve?.lastHeartbeatAt?.toISOString() ?? null,
      serveRestarts: this.serve?.restarts ?? 0,
      identity: this.registrar.snapshot(),
      bootId: process.env.RUNTIME_BOOT_ID ?? null,
    };
  }

  private cli() {
    return { bin: this.opts.bin, home: this.opts.home, env: this.opts.env, timeoutMs: this.opts.cliTimeoutMs };
  }

  private recordError(message: string, source: CliErrorRecord["source"]): void {
    this.errorCount++;
    this.lastError = { message, at: new Date().toISOString(), source };
    this.opts.log?.(`convos CLI error (${source}): ${message}`);
  }

  /**
   * One-shot `convos <args> --json` (home, env and --json added), e.g. download-attachment.
   * Fails with a 502 ServiceError carrying the CLI's whole cause; with a schema, the result
   * is checked against it.
   */
  async runCli<S extends z.ZodType = z.ZodUnknown>(args: string[], schema?: S, opts: { timeoutMs?: number } = {}): Promise<z.infer<S>> {
    try {
      return await this.runCliUnrecorded(args, schema, opts);
    } catch (err) {
      const failure = toServiceError(err);
      if (failure.status >= 500) this.recordError(failure.message, "cli");
      throw failure;
    }
  }

  /** runCli without the error bookkeeping: throws the ConvosCliError itself. */
  private async runCliUnrecorded<S extends z.ZodType = z.ZodUnknown>(args: string[], schema?: S, opts: { timeoutMs?: number } = {}): Promise<z.infer<S>> {
    const run = runConvosJson(args, { ...this.cli(), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    this.inflightCli.add(run);
    const out = await run.finally(() => this.inflightCli.delete(run));
    if (!schema) return out as z.infer<S>;
    const parsed = schema.safeParse(out);
    if (!parsed.success)
      throw new ServiceError(502, "cli_unexpected_output", `convos ${args.slice(0, 2).join(" ")} printed an unexpected result: ${parsed.error.issues[0]?.message ?? "shape mismatch"}`);
    return parsed.data;
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
      // Never two processes creating the identity at once.
      await this.registrar.settled();
      const out = await this.runCli(
        [
          "conversations",
          "create",
          ...(input.name ? ["--name", input.name] : []),
          ...(input.description ? ["--description", input.description] : []),
          ...(input.profileName ? ["--profile-name", input.profileName] : []),
          ...(input.profileImage ? ["--profile-image", input.profileImage] : []),
          "--permissions",
          input.permissions ?? "all-members",
          ...metadataArgs(input.metadata),
        ],
        CreateResult,
      );
      this.registrar.markRegistered(out.inboxId);
      this.persist({
        conversationId: out.conversationId,
        inviteUrl: out.invite.url,
        inviteSlug: out.invite.slug,
        inboxId: out.inboxId,
        name: out.name || input.name || null,
        pending: false,
        profileName: input.profileName ?? null,
        boundAt: new Date().toISOString(),
        used: true,
      });
      this.startServe(out.conversationId);
      return { conversationId: out.conversationId, inviteUrl: out.invite.url, inviteSlug: out.invite.slug };
    } finally {
      this.busy = null;
    }
  }

  async join(input: JoinInput): Promise<{ status: "joined" | "pending_acceptance"; conversationId: string | null }> {
    this.claimSlot("join", input.env);
    try {
      await this.registrar.settled();
      const timeoutSeconds = this.opts.joinTimeoutSeconds ?? 45;
      const out = await this.runCliUnrecorded(
        [
          "conversations",
          "join",
          input.inviteUrl,
          "--timeout",
          String(timeoutSeconds),
          ...(input.profileName ? ["--profile-name", input.profileName] : []),
          ...(input.profileImage ? ["--profile-image", input.profileImage] : []),
          ...metadataArgs(input.metadata),
        ],
        JoinResult,
        { timeoutMs: (timeoutSeconds + 30) * 1000 },
      );
      this.registrar.markRegistered(out.inboxId);
      const base = { joinUrl: input.inviteUrl, inboxId: out.inboxId, profileName: input.profileName ?? null, boundAt: new Date().toISOString(), used: true };
      if (out.status === "joined") {
        this.persist({ ...base, conversationId: out.conversationId, name: out.conversationName, pending: false });
        this.startServe(out.conversationId);
        return { status: "joined", conversationId: out.conversationId };
      }
      // The creator's app must be online to accept; keep checking in the background.
      this.persist({ ...base, conversationId: null, pending: true });
      this.schedulePendingPoll();
      return { status: "pending_acceptance", conversationId: null };
    } catch (err) {
      const failure = joinError(err);
      if (failure.status >= 500) this.recordError(failure.message, "cli");
      throw failure;
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
      const out = await this.runCli(["conversations", "list", "--sync"], ListResult);
      const rows = Array.isArray(out) ? out : [];
      // The instance never had another group, so the first active one is the joined conversation.
      const joined = rows.find((r) => r.kind === "group" && r.isActive);
      if (joined) {
        this.persist({ conversationId: joined.conversationId, name: joined.name || null, pending: false });
        this.opts.log?.("pending join accepted; conversation bound");
        void reportJoin(this.opts.pool, { outcome: "accepted", conversationId: joined.conversationId }).then(
          (r) => r.reported || this.opts.log?.(`telling the pool about the join failed: ${r.error}`),
        );
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
    switch (event.event) {
      case "ready":
        this.registrar.markRegistered(event.inboxId);
        if (event.inboxId !== this.binding.inboxId || (event.inviteUrl && !this.binding.inviteUrl)) {
          this.persist({ inboxId: event.inboxId, ...(event.inviteUrl && !this.binding.inviteUrl ? { inviteUrl: event.inviteUrl, inviteSlug: event.inviteSlug ?? null } : {}) });
        }
        // A fresh serve replays nothing, and subscribes its message stream only after
        // `ready`: fetch what was missed now, and once more when the first heartbeat proves
        // the streams are up (only that one closes the gap).
        this.gapFrom = gapStart(this.gapFrom, this.cursor, this.binding.boundAt);
        this.awaitingFirstHeartbeat = (this.opts.heartbeatSeconds ?? 30) > 0;
        this.scheduleCatchup(conversationId, !this.awaitingFirstHeartbeat);
        break;
      case "heartbeat":
        if (this.awaitingFirstHeartbeat) {
          this.awaitingFirstHeartbeat = false;
          this.scheduleCatchup(conversationId, true);
        }
        break;
      case "message": {
        const own = this.binding.inboxId ?? this.serve?.inboxId;
        if (event.senderInboxId !== own) this.deliverInbound(fromServeMessage(conversationId, event), event.sentAt);
        break;
      }
      case "error":
        this.recordError(event.message, "serve");
        // The CLI's own catch-up after its stream restarted failed: that gap is ours to fill.
        if (event.message.startsWith("Failed to catch up messages")) {
          this.gapFrom = gapStart(this.gapFrom, this.cursor, this.binding.boundAt, GAP_LOOKBACK_MS);
          this.scheduleCatchup(conversationId, true);
        }
        break;
      case "explode_notice":
        this.opts.log?.(`the conversation was exploded by ${event.senderInboxId.slice(0, 12)} (expires ${event.expiresAt})`);
        this.scheduleExplosion(event.expiresAt);
        break;
      default:
        break;
    }
    for (const handler of this.eventHandlers) handler(event);
  }

  private scheduleCatchup(conversationId: string, final: boolean): void {
    this.catchup.final ||= final;
    if (this.catchup.running) {
      this.catchup.again = true;
      return;
    }
    this.catchup.running = true;
    void (async () => {
      try {
        do {
          this.catchup.again = false;
          const closesGap = this.catchup.final;
          this.catchup.final = false;
          if ((await this.catchUp(conversationId)) && closesGap) this.gapFrom = null;
        } while (this.catchup.again && !this.closed);
      } finally {
        this.catchup.running = false;
      }
    })();
  }

  /** Fetches what was sent while no serve process was streaming and dispatches it once; false if it could not. */
  private async catchUp(conversationId: string): Promise<boolean> {
    const since = sentAfterNs(this.gapFrom ?? this.cursor.lastSentAt, this.binding.boundAt);
    if (!since || this.binding.conversationId !== conversationId) return false;
    let rows: MessageRow[];
    try {
      rows = await this.runCli(["conversation", "messages", conversationId, "--sync", "--direction", "ascending", "--sent-after", since], MessagesResult);
    } catch {
      return false; // recorded as lastError; the gap stays open for the next ready or heartbeat
    }
    if (this.binding.conversationId !== conversationId) return false;
    const own = this.binding.inboxId ?? this.serve?.inboxId ?? null;
    const missed = rowsToDispatch(rows, this.cursor, own);
    if (missed.length) this.opts.log?.(`caught up ${missed.length} message(s) sent while the stream was down`);
    for (const row of missed) this.deliverInbound(fromMessageRow(conversationId, row), row.sentAt);
    // An explosion while we were away arrives as a silent explode_settings row.
    const exploded = rows.find(
      (r) => r.senderInboxId !== own && r.contentType.authorityId === CONTENT_TYPES.explodeSettings.authorityId && r.contentType.typeId === CONTENT_TYPES.explodeSettings.typeId,
    );
    if (exploded) this.scheduleExplosion(explodeTime(exploded));
    return true;
  }

  private requireStream(): AgentServe {
    if (!this.binding.conversationId || this.binding.exploded) throw new ServiceError(409, "not_bound", "this instance has no conversation");
    if (!this.serve?.streaming) throw new ServiceError(503, "stream_unavailable", this.serve?.gaveUp ?? "the conversation stream is (re)starting; try again shortly");
    return this.serve;
  }

  /**
   * Writes one stdin command to `agent serve` and resolves with the `sent` line that answers
   * it; its `error` line (or the process dying first) rejects with a 502 naming the cause.
   */
  async serveCommand(cmd: ServeCommand): Promise<SentEvent> {
    try {
      return (await this.requireStream().command(cmd)) as SentEvent;
    } catch (err) {
      if (err instanceof ServiceError) throw err;
      throw new ServiceError(502, "stream_command_failed", `${cmd.type} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async send(text: string, replyTo?: string): Promise<{ messageId: string | null }> {
    const sent = await this.serveCommand({ type: "send", text, ...(replyTo ? { replyTo } : {}) });
    return { messageId: "id" in sent && typeof sent.id === "string" ? sent.id : null };
  }

  async react(messageId: string, emoji: string, action: "add" | "remove" = "add"): Promise<{ reactionId: string | null }> {
    const sent = await this.serveCommand({ type: "react", messageId, emoji, action });
    return { reactionId: "id" in sent && typeof sent.id === "string" ? sent.id : null };
  }

  async rename(name: string): Promise<{ name: string; inviteUrl: string | null }> {
    await this.serveCommand({ type: "rename", name });
    this.persist({ name });
    // The invite carries the conversation name; the tag (and so the old link) stays valid.
    await this.refreshInvite().catch(() => undefined);
    return { name, inviteUrl: this.binding.inviteUrl };
  }

  async lock(unlock: boolean): Promise<{ locked: boolean; inviteUrl: string | null }> {
    await this.serveCommand({ type: unlock ? "unlock" : "lock" });
    // Lock and unlock rotate the invite tag: the link status reported is dead from here on.
    this.persist({ locked: !unlock, inviteUrl: null, inviteSlug: null });
    await this.refreshInvite().catch(() => undefined);
    return { locked: !unlock, inviteUrl: this.binding.inviteUrl };
  }

  private async refreshInvite(): Promise<void> {
    const conversationId = this.binding.conversationId;
    if (!conversationId) return;
    const invite = await this.runCli(["conversation", "invite", conversationId], InviteResult);
    if (this.binding.conversationId === conversationId) this.persist({ inviteUrl: invite.url, inviteSlug: invite.slug });
  }

  /** Irreversible: removes everyone, wipes the instance and asks the pool to destroy it. */
  async explode(): Promise<{ exploded: true; selfDestruct: SelfDestructResult }> {
    await this.serveCommand({ type: "explode" });
    return { exploded: true, selfDestruct: await this.wipeAfterExplosion("conversation exploded") };
  }

  private scheduleExplosion(expiresAt: string): void {
    if (this.binding.exploded) return;
    const at = Date.parse(expiresAt);
    const delay = Number.isNaN(at) ? 0 : at - Date.now();
    if (delay <= 1000) {
      void this.wipeAfterExplosion("conversation exploded by its owner");
      return;
    }
    // Scheduled by the owner: the conversation lives until then.
    if (this.binding.explodesAt !== expiresAt) this.persist({ explodesAt: expiresAt });
    if (this.explodeTimer) clearTimeout(this.explodeTimer);
    this.explodeTimer = setTimeout(() => void this.wipeAfterExplosion("conversation exploded on schedule"), Math.min(delay, 2 ** 31 - 1));
    this.explodeTimer.unref?.();
  }

  /**
   * The conversation is gone: nothing of it may stay on the instance. Stops the stream,
   * wipes the XMTP identity and databases, the workspace and the cursor, keeps a binding
   * that says "exploded" (so a restart never looks clean), and asks the pool to destroy us.
   */
  private wipeAfterExplosion(reason: string): Promise<SelfDestructResult> {
    this.wiping ??= (async () => {
      if (this.explodeTimer) clearTimeout(this.explodeTimer);
      this.explodeTimer = null;
      if (this.pendingTimer) clearTimeout(this.pendingTimer);
      this.pendingTimer = null;
      await this.stopStream();
      this.registrar.stop();
      await this.idleCli();
      await this.runCli(["reset", "--force"]).catch(() => undefined);
      this.cursor = { lastSentAt: null, seen: [] };
      this.cursorStore.clear();
      if (this.opts.workspaceDir) emptyDir(this.opts.workspaceDir);
      this.binding = { ...EMPTY_BINDING, used: true, exploded: true };
      this.store.save(this.binding);
      await this.conversationGone(reason);
      this.opts.log?.(`${reason}: conversation state, identity, workspace and reminders wiped`);
      return this.askPoolToDestroy();
    })();
    return this.wiping;
  }

  private async askPoolToDestroy(): Promise<SelfDestructResult> {
    const selfDestruct = await requestSelfDestruct(this.opts.pool, "conversation exploded");
    this.opts.log?.(selfDestruct.requested ? "asked the pool to destroy this instance" : `self-destruct request failed: ${selfDestruct.error}`);
    return selfDestruct;
  }

  /** Wipes the XMTP identity and the binding: the instance is clean again. */
  async reset(): Promise<void> {
    if (this.busy) throw new ServiceError(409, "busy", `a ${this.busy} is in progress`);
    await this.stopStream();
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = null;
    this.registrar.stop();
    await this.idleCli();
    await this.runCli(["reset", "--force"]);
    this.binding = { ...EMPTY_BINDING };
    this.store.clear();
    this.cursor = { lastSentAt: null, seen: [] };
    this.cursorStore.clear();
    this.wiping = null;
    await this.conversationGone("instance reset");
    this.registrar.forget();
    if (this.opts.workspaceDir) fs.rmSync(path.join(this.opts.workspaceDir, "INSTRUCTIONS.md"), { force: true });
    if (!this.closed) void this.registrar.start();
  }

  /** Every CLI client opens (and so recreates) the identity: none may run across a wipe. */
  private async idleCli(): Promise<void> {
    while (this.inflightCli.size) await Promise.allSettled([...this.inflightCli]);
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
    if (this.explodeTimer) clearTimeout(this.explodeTimer);
    this.explodeTimer = null;
    this.registrar.stop();
    await this.stopStream();
  }

  // chat-agent: the agent's own display name, and profile updates that keep it across
  // restarts (agent serve is restarted with --profile-name from the binding).
  profileName(): string | null {
    return this.binding.profileName ?? null;
  }

  async updateProfile(profile: { name?: string; image?: string }): Promise<void> {
    await this.serveCommand({ type: "update-profile", ...profile });
    if (profile.name) this.persist({ profileName: profile.name });
  }
}

function emptyDir(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
}

/** An explode_settings row's content is the decoded settings as JSON ({"expiresAt": …}). */
function explodeTime(row: MessageRow): string {
  try {
    const content = JSON.parse(row.content) as { expiresAt?: unknown };
    if (typeof content.expiresAt === "string" || typeof content.expiresAt === "number") return new Date(content.expiresAt).toISOString();
  } catch {
    // not JSON: treat as immediate
  }
  return row.sentAt;
}

function toServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof ConvosCliError) return new ServiceError(502, "cli_failed", `convos ${err.command || "command"} failed: ${err.message}`);
  if (err instanceof ServeCommandError) return new ServiceError(502, "stream_command_failed", err.message);
  return new ServiceError(500, "internal", err instanceof Error ? err.message : String(err));
}

/**
 * A join fails on the invite itself when the CLI gave up before printing "Invite parsed:"
 * (commands/conversations/join.js parses and verifies the invite first, logs that line, and
 * only then goes to the network), or when the invite is our own.
 */
function joinError(err: unknown): ServiceError {
  if (!(err instanceof ConvosCliError) || err.exitCode === null) return toServiceError(err);
  const beforeParse = !/^Invite parsed:/mu.test(err.stdout);
  if (beforeParse || /cannot join your own conversation/iu.test(err.message)) {
    return new ServiceError(400, "invalid_invite", `the invite cannot be used: ${err.message}`);
  }
  return toServiceError(err);
}
