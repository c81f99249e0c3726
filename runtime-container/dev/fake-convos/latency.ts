// How long the real CLI takes, so that the plugin meets realistic timing in `npm start` and
// in tests. FAKE_CONVOS_LATENCY=real (the default: the local system must feel like the real
// thing, and tests see the timing the plugin will meet in production) or none (every cost 0,
// for a test that wants speed over realism). Costs are floors measured from process start:
// the model sleeps only for what its own work did not already take.

/** [min, max] ms; a value is drawn uniformly each time. */
export type Range = readonly [number, number];

// Measured with the real @xmtp/convos-cli 0.10.15 on Node 24 in a Debian trixie root
// (issue 12; test/contracts/convos-cli-latency.ts prints the figures for this machine).
/** `--version`, `schema`, help: oclif boot without loading a command's XMTP stack. */
export const PROCESS_START_MS: Range = [180, 270];
/** A command that loads the XMTP SDK and opens its database (identity, reset, every network command). */
export const COMMAND_START_MS: Range = [470, 540];
/** With the XMTP network unreachable: total time until exit 2 ("transport error"). */
export const NETWORK_FAILURE_TOTAL_MS: Range = [700, 2800];

// Estimated, not measured: no machine here reaches the XMTP network.
/** One XMTP API round trip (publish, sync, query). */
export const ROUND_TRIP_MS: Range = [60, 160];
/** `agent serve`: from `ready` until the message and DM streams are subscribed. */
export const STREAM_SUBSCRIBE_MS: Range = [150, 400];
/** `conversations join`: the real CLI re-checks for acceptance this often. */
export const JOIN_POLL_MS = 2000;
/** A simulated app owner (fake-invite) accepts a join request this long after it arrives. */
export const OWNER_ACCEPT_MS: Range = [300, 900];

export type LatencyMode = "real" | "none";

export function latencyMode(env: NodeJS.ProcessEnv = process.env): LatencyMode {
  const mode = env.FAKE_CONVOS_LATENCY ?? "real";
  if (mode !== "real" && mode !== "none") throw new Error(`FAKE_CONVOS_LATENCY must be real or none, not ${mode}`);
  return mode;
}

export function draw([min, max]: Range, mode: LatencyMode = latencyMode()): number {
  if (mode === "none") return 0;
  return Math.round(min + Math.random() * (max - min));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `ms` after this process started (no wait if that moment has passed). */
export async function untilSinceStart(ms: number): Promise<void> {
  const elapsed = performance.now();
  if (ms > elapsed) await sleep(ms - elapsed);
}

/** `n` XMTP round trips. */
export function roundTrips(n: number): Promise<void> {
  let total = 0;
  for (let i = 0; i < n; i++) total += draw(ROUND_TRIP_MS);
  return sleep(total);
}
