// The one long-lived `convos agent serve <conversationId> --json` child per instance.
// It speaks ndjson: commands on stdin, events on stdout (shapes in cli-protocol.ts). When it
// dies, or its heartbeats stop, or it reports its message stream ended, it is restarted with
// exponential backoff — except when the CLI says the identity or conversation is gone:
// restarting cannot fix that, so it gives up and reports it.
//
// The CLI's `error` lines are data, never thrown: they are handed to listeners as "event"s
// like every other line (an EventEmitter "error" with no listener would kill the gateway).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { EventEmitter } from "node:events";
import readline from "node:readline";
import { ServeEvent as ServeEventSchema, type ServeCommand, type ServeEvent } from "./cli-protocol.ts";
import { cliErrorMessage, commonArgs, convosProcessEnv, type CliOptions } from "./cli-runner.ts";
import { answerFor, isStreamDeath } from "./command-correlation.ts";

export type { ServeCommand, ServeEvent };

export type AgentServeOptions = CliOptions & {
  conversationId: string;
  profileName?: string;
  /** --heartbeat N; 0 disables heartbeats and with them the stall watchdog. */
  heartbeatSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  commandTimeoutMs?: number;
  log?: (line: string) => void;
};

export class ServeCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServeCommandError";
  }
}

const FATAL_PATTERNS = [/conversation not found/iu, /identity not found/iu, /no identity/iu];
/** Heartbeats missed before the process counts as stalled. */
const MISSED_HEARTBEATS = 3;

export function serveArgs(opts: Pick<AgentServeOptions, "conversationId" | "profileName" | "heartbeatSeconds" | "home" | "env">): string[] {
  return ["agent", "serve", opts.conversationId, "--heartbeat", String(opts.heartbeatSeconds ?? 30), ...(opts.profileName ? ["--profile-name", opts.profileName] : []), ...commonArgs(opts)];
}

/** How long without a heartbeat (or ready) before the stream counts as dead. */
export function stallBoundMs(heartbeatSeconds: number): number | null {
  return heartbeatSeconds > 0 ? heartbeatSeconds * 1000 * MISSED_HEARTBEATS : null;
}

type Pending = {
  type: ServeCommand["type"];
  resolve: (event: ServeEvent) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  /** Timed out: the caller was told, but the CLI's answer still belongs to this slot. */
  abandoned: boolean;
};

export class AgentServe extends EventEmitter {
  readonly opts: AgentServeOptions;
  private child: ChildProcessWithoutNullStreams | null = null;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private lastStderr = "";
  /** Commands written to the current child, oldest first: the CLI answers them in this order. */
  private queue: Pending[] = [];
  streaming = false;
  gaveUp: string | null = null;
  restarts = 0;
  inboxId: string | null = null;
  inviteUrl: string | null = null;
  lastHeartbeatAt: Date | null = null;
  /** Why the last child was replaced (exit, stall, stream ended). */
  lastRestartReason: string | null = null;

  constructor(opts: AgentServeOptions) {
    super();
    this.opts = opts;
  }

  start(): void {
    this.stopping = false;
    this.gaveUp = null;
    this.spawnChild();
  }

  private spawnChild(): void {
    const args = serveArgs(this.opts);
    const child = spawn(this.opts.bin, args, { env: convosProcessEnv(this.opts), stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    this.lastStderr = "";
    child.stdin.on("error", () => {
      // The child may die with commands in flight; the exit handler reports it.
    });
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      if (this.child === child) this.onLine(line);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      this.lastStderr = (this.lastStderr + d).slice(-8000);
    });
    child.on("error", (err) => {
      this.opts.log?.(`convos agent serve could not start: ${err.message}`);
    });
    child.on("close", (code, signal) => this.onExit(child, code, signal));
  }

  private onLine(line: string): void {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) return;
    let raw: unknown;
    try {
      raw = JSON.parse(trimmed);
    } catch {
      return;
    }
    if (!raw || typeof raw !== "object" || typeof (raw as { event?: unknown }).event !== "string") return;
    const parsed = ServeEventSchema.safeParse(raw);
    if (!parsed.success) {
      // A newer CLI may add fields; act on the line anyway, but say the shapes drifted.
      this.opts.log?.(`convos agent serve printed an unexpected ${(raw as { event: string }).event} event: ${parsed.error.issues[0]?.message ?? "shape mismatch"}`);
    }
    const event = (parsed.success ? parsed.data : raw) as ServeEvent;
    if (event.event === "ready") {
      this.streaming = true;
      this.attempt = 0;
      this.inboxId = event.inboxId;
      this.inviteUrl = event.inviteUrl ?? this.inviteUrl;
      this.armStallWatch();
    } else if (event.event === "heartbeat") {
      this.lastHeartbeatAt = new Date();
      this.armStallWatch();
    }
    this.answerHead(event);
    this.emit("event", event);
    if (event.event === "error" && isStreamDeath(event.message)) this.recycle(`the CLI reported: ${event.message}`);
  }

  private answerHead(event: ServeEvent): void {
    const head = this.queue[0];
    if (!head) return;
    const verdict = answerFor(head.type, event);
    if (verdict === "unrelated") return;
    this.queue.shift();
    clearTimeout(head.timer);
    if (head.abandoned) return;
    if (verdict === "sent") head.resolve(event);
    else head.reject(new ServeCommandError((event as { message: string }).message));
  }

  /** The stream is dead when heartbeats stop; re-armed by ready and every heartbeat. */
  private armStallWatch(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    const bound = stallBoundMs(this.opts.heartbeatSeconds ?? 30);
    if (bound === null) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      this.recycle(`no heartbeat for ${bound} ms`);
    }, bound);
    this.stallTimer.unref?.();
  }

  /** Kills a child that is alive but no longer streaming; onExit restarts it. */
  private recycle(reason: string): void {
    const child = this.child;
    if (!child || this.stopping) return;
    this.opts.log?.(`convos agent serve is not streaming (${reason}); restarting it`);
    this.lastRestartReason = reason;
    this.streaming = false;
    this.emit("stalled", reason);
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), 3000);
    kill.unref?.();
    child.once("close", () => clearTimeout(kill));
  }

  private failQueue(reason: string): void {
    for (const pending of this.queue.splice(0)) {
      clearTimeout(pending.timer);
      if (pending.abandoned) continue;
      if (pending.type === "explode" || pending.type === "stop") pending.resolve({ event: "sent", type: pending.type } as ServeEvent);
      else pending.reject(new ServeCommandError(reason));
    }
  }

  private onExit(child: ChildProcessWithoutNullStreams, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    this.streaming = false;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.failQueue("the conversation stream exited before answering the command");
    this.emit("exit", { code, signal });
    if (this.stopping) return;
    const fatal = FATAL_PATTERNS.find((re) => re.test(this.lastStderr));
    if (fatal) {
      this.gaveUp = cliErrorMessage(this.lastStderr, code);
      this.opts.log?.(`convos agent serve gave up: ${this.gaveUp}`);
      this.emit("gave_up", this.gaveUp);
      return;
    }
    this.lastRestartReason ??= `exited (code ${code ?? signal})`;
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    const delay = Math.min(maxMs, initialMs * 2 ** this.attempt);
    this.attempt++;
    this.restarts++;
    this.opts.log?.(`convos agent serve stopped (${this.lastRestartReason}); restarting in ${delay} ms`);
    this.lastRestartReason = null;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.spawnChild();
    }, delay);
  }

  /** Writes one ndjson command; resolves with the `sent` line that answers it, rejects on its `error` line. */
  command(cmd: ServeCommand, timeoutMs = this.opts.commandTimeoutMs ?? 30_000): Promise<ServeEvent> {
    const child = this.child;
    if (!child || !this.streaming) return Promise.reject(new ServeCommandError("conversation stream is not running"));
    return new Promise((resolve, reject) => {
      if (cmd.type === "stop") {
        child.stdin.write(JSON.stringify(cmd) + "\n");
        resolve({ event: "sent", type: "stop" } as unknown as ServeEvent);
        return;
      }
      const pending: Pending = {
        type: cmd.type,
        resolve,
        reject,
        abandoned: false,
        timer: setTimeout(() => {
          pending.abandoned = true;
          reject(new ServeCommandError(`convos did not answer ${cmd.type} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.queue.push(pending);
      child.stdin.write(JSON.stringify(cmd) + "\n");
    });
  }

  async stop(timeoutMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
      }, timeoutMs);
      child.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      // Graceful first: the stop command lets the CLI close its XMTP streams.
      try {
        child.stdin.write(JSON.stringify({ type: "stop" }) + "\n");
        child.stdin.end();
      } catch {
        child.kill("SIGTERM");
      }
    });
    this.streaming = false;
  }
}
