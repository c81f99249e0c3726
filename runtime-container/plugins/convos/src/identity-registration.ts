// The instance's XMTP identity, created and registered while the instance is still idle in
// the pool, so a claim only does conversation work. In the real CLI (ADR 011, one inbox per
// install) `identity create` only writes keys locally (commands/identity/create.js); the
// inbox is registered on the network the first time a command opens the XMTP client
// (utils/client.js getClient → Client.create), which `identity info` does
// (commands/identity/info.js). `conversations create|join` and `agent serve` then reuse that
// registered database instead of registering on the claim's clock.
import { IdentityInfoResult } from "./cli-protocol.ts";
import { ConvosCliError } from "./cli-runner.ts";

export type IdentityState =
  /** Pre-registration switched off (CONVOS_PREREGISTER=off): the claim registers. */
  | "off"
  | "pending"
  | "registering"
  /** The last attempt failed; another one is scheduled. */
  | "retrying"
  | "registered";

export type IdentityStatus = {
  state: IdentityState;
  inboxId: string | null;
  attempts: number;
  error: string | null;
  nextRetryAt: string | null;
};

export type Backoff = { initialMs: number; maxMs: number };

export function retryDelayMs(failures: number, backoff: Backoff): number {
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, failures - 1));
}

type RunCli = (args: string[]) => Promise<unknown>;

export class IdentityRegistrar {
  private status: IdentityStatus;
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> | null = null;
  private stopped = false;
  private readonly run: RunCli;
  private readonly backoff: Backoff;
  private readonly log?: (line: string) => void;
  private readonly onRegistered: (inboxId: string) => void;

  constructor(opts: { run: RunCli; backoff?: Backoff; enabled: boolean; log?: (line: string) => void; onRegistered: (inboxId: string) => void }) {
    this.run = opts.run;
    this.backoff = opts.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    this.log = opts.log;
    this.onRegistered = opts.onRegistered;
    this.status = { state: opts.enabled ? "pending" : "off", inboxId: null, attempts: 0, error: null, nextRetryAt: null };
  }

  snapshot(): IdentityStatus {
    return { ...this.status };
  }

  /** The conversation commands registered it themselves (or it was known already). */
  markRegistered(inboxId: string): void {
    this.cancel();
    this.status = { ...this.status, state: "registered", inboxId, error: null, nextRetryAt: null };
  }

  /** The identity was wiped (reset): the next start registers a new one. */
  forget(): void {
    this.cancel();
    this.status = { state: this.status.state === "off" ? "off" : "pending", inboxId: null, attempts: 0, error: null, nextRetryAt: null };
  }

  /** Starts (or joins) registration unless it is done, switched off, or stopped. */
  start(): Promise<void> {
    this.stopped = false;
    if (this.status.state === "off" || this.status.state === "registered") return Promise.resolve();
    this.inflight ??= this.attempt().finally(() => (this.inflight = null));
    return this.inflight;
  }

  /** Resolves once the attempt in flight (if any) has finished. */
  settled(): Promise<void> {
    return this.inflight ?? Promise.resolve();
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async attempt(): Promise<void> {
    this.cancel();
    this.status = { ...this.status, state: "registering", attempts: this.status.attempts + 1, nextRetryAt: null };
    try {
      await this.run(["identity", "create"]).catch((err: unknown) => {
        // Idempotent boot: an identity from an earlier boot is the one to register.
        if (!(err instanceof ConvosCliError && /already exists/iu.test(err.message))) throw err;
      });
      const info = IdentityInfoResult.parse(await this.run(["identity", "info"]));
      if (this.status.state !== "registering") return; // reset or registered meanwhile
      this.status = { state: "registered", inboxId: info.properties.inboxId, attempts: this.status.attempts, error: null, nextRetryAt: null };
      this.log?.(`XMTP identity registered (inbox ${info.properties.inboxId.slice(0, 12)}…) after ${this.status.attempts} attempt(s)`);
      this.onRegistered(info.properties.inboxId);
    } catch (err) {
      if (this.status.state !== "registering") return;
      const error = err instanceof Error ? err.message : String(err);
      const delay = retryDelayMs(this.status.attempts, this.backoff);
      this.status = { ...this.status, state: "retrying", error, nextRetryAt: new Date(Date.now() + delay).toISOString() };
      this.log?.(`registering the XMTP identity failed (attempt ${this.status.attempts}): ${error}; retrying in ${delay} ms`);
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.start();
      }, delay);
      this.timer.unref?.();
    }
  }
}
