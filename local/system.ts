import { copyFileSync, existsSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { freePort, ProcessSupervisor } from "./supervisor/processes.ts";
import { serveSupervisor } from "./supervisor/server.ts";
import { createSimulatedSupervisor } from "./supervisor/simulated.ts";
import { ROOT, startWorkerHost, type WorkerHost } from "./worker-host.ts";

/**
 * The whole pool on this machine, as `npm start` runs it: the Worker under Miniflare (local
 * D1, the coordinator), and a local supervisor standing in for Railway — real runtime
 * processes by default, the in-memory simulation on request. The end-to-end suite starts
 * it the same way, on free ports and a throwaway state directory.
 */
export interface SystemOptions {
  /** Worker port; 0 picks a free one. */
  port?: number;
  /** Supervisor port; 0 picks a free one. */
  supervisorPort?: number;
  /** D1/DO state under `<stateDir>/state`, instance volumes and logs under `<stateDir>/instances`. */
  stateDir?: string;
  /** In-memory instances instead of processes. */
  simulated?: boolean;
  simulatedReadyDelayMs?: number;
  /** Secrets and vars (POOL_API_KEY, LOCAL_SUPERVISOR_TOKEN, …); read from .dev.vars when absent. */
  secrets?: Record<string, string>;
  /** Vars layered over wrangler.toml's and the secrets (MIN_IDLE, TICK_INTERVAL_MS, …). */
  vars?: Record<string, string>;
  /** Environment every runtime process gets (OPENCLAW_GATEWAY=stub, STUB_GATEWAY_REPLY, …). */
  runtimeEnv?: Record<string, string>;
  /** Fire the first tick right away instead of after the first alarm interval. */
  kick?: boolean;
  verbose?: boolean;
  log?: (line: string) => void;
}

export interface LocalPool {
  baseUrl: string;
  apiKey: string;
  supervisorUrl: string;
  supervisorToken: string;
  /** The process supervisor (absent when simulated): its services' pids, env and state. */
  processes: ProcessSupervisor | null;
  host: WorkerHost;
  /** Calls the Worker with the pool key. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** Stops the Worker, then every instance; resolves when no instance process is left. */
  stop(): Promise<void>;
}

/** `.dev.vars`, created from `.dev.vars.example` on the first start (or another file of that format). */
export function readDevVars(file = join(ROOT, ".dev.vars")): Record<string, string> {
  if (!existsSync(file) && file === join(ROOT, ".dev.vars")) copyFileSync(join(ROOT, ".dev.vars.example"), file);
  return parseVars(readFileSync(file, "utf8"));
}

function parseVars(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#") && l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

export async function startSystem(options: SystemOptions = {}): Promise<LocalPool> {
  const stateDir = options.stateDir ?? join(ROOT, ".local");
  // Wrangler layers the repository's .dev.vars under whatever is passed here. Given explicit
  // secrets (tests), every secret the example names is blanked first, so a developer's
  // provider keys in .dev.vars never reach a test's Worker.
  const secrets = options.secrets ? { ...Object.fromEntries(Object.keys(parseVars(readFileSync(join(ROOT, ".dev.vars.example"), "utf8"))).map((k) => [k, ""])), ...options.secrets } : readDevVars();
  const apiKey = secrets.POOL_API_KEY;
  const supervisorToken = secrets.LOCAL_SUPERVISOR_TOKEN;
  if (!apiKey || !supervisorToken) throw new Error("POOL_API_KEY and LOCAL_SUPERVISOR_TOKEN must be set (.dev.vars)");
  const log = options.log ?? (() => {});

  let processes: ProcessSupervisor | null = null;
  let supervisorUrl: string;
  let closeSupervisor: () => Promise<void>;
  if (options.simulated) {
    let url = "";
    const simulated = createSimulatedSupervisor({ token: supervisorToken, baseUrl: () => url, readyDelayMs: options.simulatedReadyDelayMs ?? 3000 });
    const server = serve({ fetch: simulated.fetch, port: options.supervisorPort ?? 0, hostname: "127.0.0.1" });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", () => resolve());
      server.once("error", reject);
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    supervisorUrl = url;
    closeSupervisor = () => new Promise<void>((resolve) => server.close(() => resolve()));
  } else {
    processes = new ProcessSupervisor({ stateRoot: join(stateDir, "instances"), env: options.runtimeEnv, log });
    try {
      const server = await serveSupervisor(processes, { token: supervisorToken, port: options.supervisorPort ?? 0 });
      supervisorUrl = server.url;
      closeSupervisor = server.close;
    } catch (err) {
      await processes.stopAll();
      throw err;
    }
  }

  let host: WorkerHost;
  try {
    // The Worker must know its own URL (instances call back to POOL_URL), so pick the port first.
    const port = options.port || (await freePort());
    host = await startWorkerHost({
      port,
      persistDir: join(stateDir, "state"),
      vars: {
        TICK_INTERVAL_MS: "5000",
        ...secrets,
        ...options.vars,
        COMPUTE_PROVIDER: "local",
        LOCAL_SUPERVISOR_URL: supervisorUrl,
        POOL_URL: `http://127.0.0.1:${port}`,
      },
      verbose: options.verbose,
    });
  } catch (err) {
    await closeSupervisor();
    await processes?.stopAll();
    throw err;
  }
  const baseUrl = host.url.toString().replace(/\/$/, "");

  const api: LocalPool["api"] = (path, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${apiKey}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    return fetch(`${baseUrl}${path}`, { ...init, headers, body });
  };

  if (options.kick !== false) {
    const res = await api("/api/pool/reconcile", { method: "POST", json: {} });
    if (!res.ok) log(`first tick answered ${res.status}: ${await res.text()}`);
  }

  let stopped: Promise<void> | null = null;
  return {
    baseUrl,
    apiKey,
    supervisorUrl,
    supervisorToken,
    processes,
    host,
    api,
    stop() {
      // The Worker goes first so no tick creates an instance while they are being stopped.
      stopped ??= (async () => {
        await host.dispose().catch((err) => log(`worker host did not stop cleanly: ${(err as Error).message}`));
        await closeSupervisor();
        await processes?.stopAll();
      })();
      return stopped;
    },
  };
}
