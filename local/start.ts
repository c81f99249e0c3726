import { existsSync, readFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { createSimulatedSupervisor } from "./supervisor/simulated.ts";
import { ROOT, startWorkerHost } from "./worker-host.ts";

/**
 * `npm start`: the whole pool on this machine, no cloud account. The Worker runs under
 * Miniflare with local D1 and the coordinator; a local supervisor stands in for Railway.
 */
const port = Number(process.env.PORT ?? 8787);
const supervisorPort = Number(process.env.SUPERVISOR_PORT ?? 8790);

const devVarsPath = join(ROOT, ".dev.vars");
if (!existsSync(devVarsPath)) copyFileSync(join(ROOT, ".dev.vars.example"), devVarsPath);
const devVars = Object.fromEntries(
  readFileSync(devVarsPath, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#") && l.includes("="))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);

const supervisorUrl = `http://127.0.0.1:${supervisorPort}`;
const supervisor = createSimulatedSupervisor({
  token: devVars.LOCAL_SUPERVISOR_TOKEN!,
  baseUrl: supervisorUrl,
  readyDelayMs: Number(process.env.SIMULATED_READY_DELAY_MS ?? 3000),
});
const supervisorServer = serve({ fetch: supervisor.fetch, port: supervisorPort, hostname: "127.0.0.1" });

const host = await startWorkerHost({
  port,
  persistDir: join(ROOT, ".local/state"),
  vars: {
    TICK_INTERVAL_MS: "5000",
    ...devVars,
    COMPUTE_PROVIDER: "local",
    LOCAL_SUPERVISOR_URL: supervisorUrl,
    POOL_URL: `http://127.0.0.1:${port}`,
  },
  verbose: process.env.VERBOSE === "1",
});
const base = host.url.toString().replace(/\/$/, "");

// Kick the first tick now rather than after the first alarm interval.
await fetch(`${base}/api/pool/reconcile`, { method: "POST", headers: { authorization: `Bearer ${devVars.POOL_API_KEY}` } });

console.log(`
Convos Agent Pool is running (simulated instances, ready after ${process.env.SIMULATED_READY_DELAY_MS ?? 3000} ms).

  API      ${base}/api/pool/info
  Admin    ${base}/admin
  Key      ${devVars.POOL_API_KEY}   (POOL_API_KEY from .dev.vars)

  Claim:   curl -X POST -H "Authorization: Bearer ${devVars.POOL_API_KEY}" ${base}/api/pool/claim

Ctrl-C stops everything.`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await host.dispose();
  supervisorServer.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
