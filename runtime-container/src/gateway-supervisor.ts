// Keeps the gateway process (real `openclaw gateway run`, or the stand-in) alive: restarts
// it with exponential backoff when it dies, and stops it — with everything it spawned — on
// shutdown. The child gets its own process group so one signal reaches its whole tree.
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";

export type SupervisorState = "starting" | "running" | "backoff" | "stopping" | "stopped";

export type SupervisorOptions = {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A run that lasted this long resets the backoff. */
  stableAfterMs?: number;
  stopTimeoutMs?: number;
  log?: (line: string) => void;
  /** Where the child's output goes; defaults to this process's stdout/stderr. */
  output?: "inherit" | "ignore";
  /** Runs after the backoff, before each restart (a failure is logged and the restart goes ahead). */
  beforeRestart?: () => Promise<void>;
};

export class GatewaySupervisor extends EventEmitter {
  readonly opts: SupervisorOptions;
  state: SupervisorState = "stopped";
  child: ChildProcess | null = null;
  restarts = 0;
  lastExit: { code: number | null; signal: NodeJS.Signals | null; at: number } | null = null;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private startedAt = 0;

  constructor(opts: SupervisorOptions) {
    super();
    this.opts = opts;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.state === "starting" || this.state === "running") return;
    this.spawnChild();
  }

  private spawnChild(): void {
    this.state = "starting";
    this.startedAt = Date.now();
    const child = spawn(this.opts.command, this.opts.args, {
      env: this.opts.env,
      cwd: this.opts.cwd,
      detached: true,
      stdio: this.opts.output === "ignore" ? "ignore" : ["ignore", "inherit", "inherit"],
    });
    this.child = child;
    child.once("spawn", () => {
      if (this.child === child) this.state = "running";
      this.emit("spawn", child.pid);
    });
    child.once("error", (err) => this.opts.log?.(`gateway could not start: ${err.message}`));
    child.once("exit", (code, signal) => this.onExit(child, code, signal));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = null;
    this.lastExit = { code, signal, at: Date.now() };
    this.emit("exit", this.lastExit);
    if (this.state === "stopping" || this.state === "stopped") {
      this.state = "stopped";
      return;
    }
    // Reap whatever the gateway spawned (convos agent serve, browsers) before restarting.
    killGroup(child.pid, "SIGKILL");
    if (Date.now() - this.startedAt >= (this.opts.stableAfterMs ?? 60_000)) this.attempt = 0;
    const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.initialBackoffMs ?? 1000) * 2 ** this.attempt);
    this.attempt++;
    this.restarts++;
    this.state = "backoff";
    this.opts.log?.(`gateway exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
    this.timer = setTimeout(async () => {
      this.timer = null;
      if (this.state !== "backoff") return;
      try {
        await this.opts.beforeRestart?.();
      } catch (err) {
        this.opts.log?.(`before restarting the gateway: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (this.state === "backoff") this.spawnChild();
    }, delay);
  }

  /** Synchronous last resort when this process is about to die. */
  killNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.state = "stopped";
    killGroup(this.child?.pid, "SIGKILL");
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const child = this.child;
    this.state = "stopping";
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.state = "stopped";
      return;
    }
    await new Promise<void>((resolve) => {
      const hardKill = setTimeout(() => killGroup(child.pid, "SIGKILL"), this.opts.stopTimeoutMs ?? 10_000);
      child.once("exit", () => {
        clearTimeout(hardKill);
        // The gateway stops its own children; anything left in the group goes now.
        killGroup(child.pid, "SIGKILL");
        resolve();
      });
      killGroup(child.pid, "SIGTERM");
    });
    this.state = "stopped";
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
