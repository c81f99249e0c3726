import { createSimulatedSupervisor } from "../../local/supervisor/simulated.ts";
import { createProviderFakes } from "./fakes/index.ts";

/**
 * Everything outside the Worker that tests cannot reach, answered in-process by fakes that
 * speak the real wire formats. Miniflare's `outboundService` sends every outbound fetch of
 * the Worker (and of the tests running beside it) here; each fake owns a hostname.
 */
export const TEST_SUPERVISOR_URL = "http://supervisor.test";
export const TEST_SUPERVISOR_TOKEN = "test-supervisor-token";

export type HostHandler = (request: Request) => Promise<Response> | Response;

export function createFakeCloud() {
  const supervisor = createSimulatedSupervisor({ token: TEST_SUPERVISOR_TOKEN, baseUrl: TEST_SUPERVISOR_URL, xmtpEnv: "dev" });
  const hosts = new Map<string, HostHandler>([["supervisor.test", supervisor.fetch]]);
  for (const [host, handler] of Object.entries(createProviderFakes().hosts)) hosts.set(host, handler);

  return {
    hosts,
    async fetch(request: Request): Promise<Response> {
      const host = new URL(request.url).hostname;
      // "*.suffix" entries answer every subdomain (instances' public domains).
      const handler = hosts.get(host) ?? hosts.get(`*.${host.split(".").slice(1).join(".")}`);
      if (!handler) {
        return new Response(JSON.stringify({ error: { code: "no_fake", message: `no fake answers for ${host}` } }), { status: 502 });
      }
      return handler(request);
    },
  };
}
