// The one long-lived `convos agent serve <conversationId> --json` child per instance.
// It speaks ndjson: commands on stdin, events on stdout. When it dies it is restarted with
// exponential backoff, except when the CLI says the identity or conversation is gone —
// restarting cannot fix that, so the process gives up and reports it.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { EventEmitter } from "node:events";
import readline from "node:readline";
import { commonArgs, convosProcessEnv, type CliOptions } from "./cli-runner.ts";

// Events the CLI prints on stdout; only the fields the plugin reads are named.
export type ServeEvent = {
  event: "ready" | "message" | "member_joined" | "sent" | "heartbeat" | "error" | (string & {});
  id?: string;
  type?: string;
  conversationId?: string;
  inboxId?: string;
  inviteUrl?: string;
  message?: string;
  command?: unknown;
  [key: string]: unknown;
};

export type MessageEvent = ServeEvent & {
  event: "message";
  id: string;
  senderInboxId: string;
  senderProfile?: { name?: string; image?: string };
  contentType?: unknown;
  content: string;
  sentAt: string;
  catchup?: boolean;
};

export type ServeCommand =
  | { type: "send"; text: string; replyTo?: string }
  | { type: "react"; messageId: string; emoji: string; action?: "add" | "remove" }
  | { type: "rename"; name: string }
  | { type: "lock" }
  | { type: "unlock" }
  | { type: "explode"; scheduled?: string }
  | { type: "stop" };

export type AgentServeOptions = CliOptions & {
  conversationId: string;
  profileName?: string;
  heartbeatSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
  log?: (line: string) => void;
};

const FATAL_PATTERNS = [/conversation not found/iu, /identity not found/iu, /no identity/iu];

export function serveArgs(opts: Pick<AgentServeOptions, "conversationId" | "profileName" | "heartbeatSeconds" | "home" | "env">): string[] {
  return [
    "agent", "serve", opts.conversationId,
    "--heartbeat", String(opts.heartbeatSeconds ?? 30),
    ...(opts.profileName ? ["--profile-name", opts.profileName] : []),
    ...commonArgs(opts),
  ];
}

export class AgentServe extends EventEmitter {
  readonly opts: AgentServeOptions;
  private child: ChildProcessWithoutNullStreams | null = null;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private lastStderr = "";
  streaming = false;
  gaveUp: string | null = null;
  restarts = 0;
  inboxId: string | null = null;
  inviteUrl: string | null = null;

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
    readline.createInterface({ input: child.stdout }).on("line", (line) => this.onLine(line));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      this.lastStderr = (this.lastStderr + d).slice(-4000);
    });
    child.on("error", (err) => {
      this.opts.log?.(`convos agent serve could not start: ${err.message}`);
    });
    child.on("close", (code, signal) => this.onExit(child, code, signal));
  }

  private onLine(line: string): void {
    const trimmed = line.trim();
    if (!trimmed.startsWith("{")) return;
    let event: ServeEvent;
    try {
      event = JSON.parse(trimmed);
    } catch {
      return;
    }
    if (event.event === "ready") {
      this.streaming = true;
      this.attempt = 0;
      this.inboxId = typeof event.inboxId === "string" ? event.inboxId : this.inboxId;
      this.inviteUrl = typeof event.inviteUrl === "string" ? event.inviteUrl : this.inviteUrl;
    }
    this.emit("event", event);
    this.emit(event.event, event);
  }

  private onExit(child: ChildProcessWithoutNullStreams, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    this.streaming = false;
    this.emit("exit", { code, signal });
    if (this.stopping) return;
    const fatal = FATAL_PATTERNS.find((re) => re.test(this.lastStderr));
    if (fatal) {
      this.gaveUp = this.lastStderr.split("\n").find((l) => fatal.test(l))?.replace(/^[\s›]*(Error:\s*)?/u, "").trim() ?? "conversation not found";
      this.opts.log?.(`convos agent serve gave up: ${this.gaveUp}`);
      this.emit("gave_up", this.gaveUp);
      return;
    }
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    const delay = Math.min(maxMs, initialMs * 2 ** this.attempt);
    this.attempt++;
    this.restarts++;
    this.opts.log?.(`convos agent serve exited (code ${code ?? signal}); restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.spawnChild();
    }, delay);
  }

  /** Writes one ndjson command; resolves with the `sent` (or `error`) event that answers it. */
  command(cmd: ServeCommand, timeoutMs = 30_000): Promise<ServeEvent> {
    const child = this.child;
    if (!child || !this.streaming) return Promise.reject(new Error("conversation stream is not running"));
    return new Promise((resolve, reject) => {
      // The CLI processes stdin commands strictly in order, so the next sent/error event
      // belongs to the oldest pending command.
      const onEvent = (event: ServeEvent) => {
        if (event.event !== "sent" && event.event !== "error") return;
        if (event.event === "error" && !("command" in event) && !String(event.message).includes("command")) return;
        cleanup();
        if (event.event === "error") reject(new Error(String(event.message)));
        else resolve(event);
      };
      const onExit = () => {
        cleanup();
        if (cmd.type === "explode" || cmd.type === "stop") resolve({ event: "sent", type: cmd.type });
        else reject(new Error("conversation stream exited before confirming the command"));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`convos did not confirm ${cmd.type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off("event", onEvent);
        this.off("exit", onExit);
      };
      this.on("event", onEvent);
      this.on("exit", onExit);
      child.stdin.write(JSON.stringify(cmd) + "\n");
    });
  }

  async stop(timeoutMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
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
