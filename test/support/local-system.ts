import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createSimulatedSupervisor } from "../../local/supervisor/simulated.ts";
import { startWorkerHost, type WorkerHost } from "../../local/worker-host.ts";

/**
 * The pool as `npm start` runs it, on free ports, with in-memory state: the Worker under
 * Miniflare plus a simulated supervisor. For suites that need a real HTTP server (browser,
 * benchmarks). Instances become ready on the first tick.
 */
export const LOCAL_POOL_KEY = "local-test-pool-key-0123456789";

export interface LocalSystem {
  baseUrl: string;
  apiKey: string;
  supervisorUrl: string;
  host: WorkerHost;
  /** Calls the pool API with the pool key. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

/** `outboundService` answers the Worker's fetches to other hosts (provider fakes); the supervisor is always reached for real. */
export async function startLocalSystem(vars: Record<string, string> = {}, opts: { outboundService?: (request: Request) => Promise<Response> | Response } = {}): Promise<LocalSystem> {
  const token = "local-test-supervisor-token";
  let supervisorUrl = "";
  const supervisor = createSimulatedSupervisor({ token, baseUrl: () => supervisorUrl, readyDelayMs: 0 });
  const server = serve({ fetch: supervisor.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  supervisorUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const host = await startWorkerHost({
    vars: {
      POOL_API_KEY: LOCAL_POOL_KEY,
      POOL_ENCRYPTION_KEY: "local-test-encryption-key-0123456789",
      SESSION_SECRET: "local-test-session-secret-0123456789",
      LOCAL_SUPERVISOR_TOKEN: token,
      COMPUTE_PROVIDER: "local",
      LOCAL_SUPERVISOR_URL: supervisorUrl,
      ...vars,
    },
    ...(opts.outboundService
      ? {
          outboundService: async (request: Request) => {
            if (new URL(request.url).origin !== supervisorUrl) return opts.outboundService!(request);
            // Miniflare's Request is not this Node's: pass it on field by field.
            const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
            return fetch(request.url, { method: request.method, headers: request.headers, body });
          },
        }
      : {}),
  });
  const baseUrl = host.url.toString().replace(/\/$/, "");
  return {
    baseUrl,
    apiKey: LOCAL_POOL_KEY,
    supervisorUrl,
    host,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${LOCAL_POOL_KEY}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(init.json);
      }
      return fetch(`${baseUrl}${path}`, { ...init, headers, body });
    },
    async stop() {
      await host.dispose();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
