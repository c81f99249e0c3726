import { existsSync } from "node:fs";
import { join } from "node:path";
import { FAKE_CONVOS_CLI } from "./supervisor/processes.ts";
import { readDevVars, startSystem } from "./system.ts";
import { ROOT } from "./worker-host.ts";

/**
 * `npm start`: the whole pool on this machine, no cloud account. The Worker runs under
 * Miniflare with local D1 and the coordinator; a local supervisor stands in for Railway and
 * runs each instance as a real runtime-container process. POOL_SIMULATED=1 swaps those for
 * in-memory fakes.
 */
const simulated = process.env.POOL_SIMULATED === "1";
const port = Number(process.env.PORT ?? 8787);
const supervisorPort = Number(process.env.SUPERVISOR_PORT ?? 8790);
const stateDir = process.env.POOL_STATE_DIR ?? join(ROOT, ".local");
const gateway = process.env.POOL_GATEWAY ?? process.env.OPENCLAW_GATEWAY;
const verbose = process.env.VERBOSE === "1";
const openclawInstalled = existsSync(join(ROOT, "runtime-container", "node_modules", "openclaw", "openclaw.mjs"));

const log = (line: string) => console.log(line);

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
let system: Awaited<ReturnType<typeof startSystem>> | null = null;
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  // Still starting: exiting runs the exit hooks, which SIGKILL whatever was started so far.
  if (!system) process.exit(code || 130);
  console.log("\nStopping: the Worker, then every instance…");
  // Another Ctrl-C while instances shut down means "now": the exit hook SIGKILLs them. Not
  // within the first second, though: wrappers (npm, timeout) forward the same Ctrl-C again.
  const firstAt = Date.now();
  process.on("SIGINT", () => {
    if (Date.now() - firstAt > 1000) process.exit(130);
  });
  await system.stop();
  console.log("Stopped; no instance is left running.");
  process.exit(code);
};
const onSignal = () => void stop(0);
for (const sig of SIGNALS) process.on(sig, onSignal);
process.on("uncaughtException", (err) => {
  console.error(err);
  void stop(1);
});

system = await startSystem({
  port,
  supervisorPort,
  stateDir,
  simulated,
  secrets: process.env.POOL_DEV_VARS ? readDevVars(process.env.POOL_DEV_VARS) : undefined,
  simulatedReadyDelayMs: Number(process.env.SIMULATED_READY_DELAY_MS ?? 3000),
  runtimeEnv: gateway ? { OPENCLAW_GATEWAY: gateway } : {},
  verbose,
  log,
});

// Miniflare installs its own SIGINT/SIGTERM/SIGHUP handlers that exit on the spot, which would
// skip the graceful stop (instances get SIGTERM and time to close). Ours own the signals; its
// exit hook stays and still stops workerd when the process ends.
for (const sig of SIGNALS) {
  for (const listener of process.listeners(sig)) if (listener !== onSignal) process.off(sig, listener as () => void);
}

const base = system.baseUrl;
const realGateway = !simulated && !(gateway === "stub" || (!gateway && !openclawInstalled));
const mode = simulated
  ? `simulated instances (in memory, ready after ${process.env.SIMULATED_READY_DELAY_MS ?? 3000} ms)`
  : [
      "runtime processes (runtime-container/src/main.ts, one per instance)",
      `    gateway  ${realGateway ? "real OpenClaw" : "stub (no OpenClaw agent; echoes messages)"}`,
      `    convos   ${process.env.CONVOS_CLI ? `${process.env.CONVOS_CLI} (CONVOS_CLI)` : `fake CLI, no XMTP network (${FAKE_CONVOS_CLI})`}`,
      `    model    ${process.env.OPENROUTER_API_KEY ? `OPENROUTER_API_KEY set, ${process.env.OPENCLAW_PRIMARY_MODEL || "default model"}` : "no OPENROUTER_API_KEY: the agent cannot answer"}`,
      `    state    ${join(stateDir, "instances")}/<service>/ (runtime.log, state/)`,
    ].join("\n");

console.log(`
Convos Agent Pool is running with ${mode}

  Admin    ${base}/admin      (sign in with the key below)
  Key      ${system.apiKey}   (POOL_API_KEY from ${process.env.POOL_DEV_VARS ?? ".dev.vars"})
  API      ${base}/api/pool/info
  Pool     curl -s ${base}/api/pool/counts

  Claim:   curl -X POST -H "Authorization: Bearer ${system.apiKey}" -H "Content-Type: application/json" -d '{"agentName":"Tester"}' ${base}/api/pool/claim

${
  realGateway
    ? `  The pool fills slowly: each instance boots a real OpenClaw gateway, about 2.5 minutes on a
  laptop, so the first claim answers 503 pool_empty until one is idle (watch the Pool line above).
  POOL_GATEWAY=stub npm start fills it in seconds, with an echoing stand-in for the agent.
`
    : "  The pool fills in a few seconds.\n"
}
Ctrl-C stops everything. Talk to an instance: npm run instance -- list`);
