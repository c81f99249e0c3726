// Tells the pool how a pending join ended, so its record of the instance follows the instance
// (the pool's tick also asks, slowly; this makes it immediate). Authenticated, like the
// self-destruct request, by the instance's own gateway token. Only types are imported here:
// the Worker imports this file's outcomes and types for its side of the contract.
import type { SelfDestructConfig } from "./pool-client.ts";

/** The body of POST /api/pool/instances/:id/join-resolution. */
export type JoinReport = { outcome: "accepted"; conversationId: string } | { outcome: "refused"; reason?: string };

export const JOIN_REPORT_OUTCOMES = ["accepted", "refused"] as const;

export function joinReportPath(instanceId: string): string {
  return `/api/pool/instances/${encodeURIComponent(instanceId)}/join-resolution`;
}

export type JoinReportResult = { reported: boolean; status?: number; error?: string };

/** A few quick tries; if the pool stays unreachable its next check of this instance records the same thing. */
export async function reportJoin(cfg: SelfDestructConfig, report: JoinReport, attempts = 3): Promise<JoinReportResult> {
  if (!cfg.poolUrl || !cfg.instanceId || !cfg.gatewayToken) return { reported: false, error: "POOL_URL, INSTANCE_ID or GATEWAY_TOKEN is not set" };
  const url = `${cfg.poolUrl.replace(/\/+$/u, "")}${joinReportPath(cfg.instanceId)}`;
  let error = "";
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1_000 * attempt));
    try {
      const res = await (cfg.fetchImpl ?? fetch)(url, {
        method: "POST",
        headers: { authorization: `Bearer ${cfg.gatewayToken}`, "content-type": "application/json" },
        body: JSON.stringify(report),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) return { reported: true, status: res.status };
      error = `pool answered ${res.status}`;
      // A refusal (wrong token, instance no longer claimed) will not change on a retry.
      if (res.status < 500 && res.status !== 429) return { reported: false, status: res.status, error };
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
  }
  return { reported: false, error };
}
