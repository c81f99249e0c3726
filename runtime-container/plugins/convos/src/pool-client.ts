import {
  type CreditsExhaustedReport,
  CreditsExhaustedReportSchema,
  CreditsExhaustedResultSchema,
  creditsExhaustedPath,
  creditsRemainingPath,
  type InstanceCredit,
  InstanceCreditSchema,
} from "../../../contract/pool-runtime.ts";

// The instance asks the pool to destroy it; only the pool may delete provider resources.
export type SelfDestructConfig = {
  poolUrl: string | undefined;
  instanceId: string | undefined;
  gatewayToken: string | undefined;
  fetchImpl?: typeof fetch;
};

export type SelfDestructResult = { requested: boolean; status?: number; error?: string };

export async function requestSelfDestruct(cfg: SelfDestructConfig, reason: string): Promise<SelfDestructResult> {
  if (!cfg.poolUrl || !cfg.instanceId || !cfg.gatewayToken) {
    return { requested: false, error: "POOL_URL, INSTANCE_ID or GATEWAY_TOKEN is not set" };
  }
  const url = `${cfg.poolUrl.replace(/\/+$/u, "")}/api/pool/instances/${encodeURIComponent(cfg.instanceId)}/self-destruct`;
  const doFetch = cfg.fetchImpl ?? fetch;
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const res = await doFetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${cfg.gatewayToken}`, "content-type": "application/json" },
        body: JSON.stringify({ reason }),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) return { requested: true, status: res.status };
      lastError = `pool answered ${res.status}`;
      if (res.status < 500 && res.status !== 429) return { requested: false, status: res.status, error: lastError };
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
  }
  return { requested: false, error: lastError };
}

// --- credits (runtime-container/contract/pool-runtime.ts) -----------------------------------

export type CreditsReportResult = { reported: boolean; status?: number; error?: string };

/** Tells the pool the model refused for lack of credits, so its dashboard marks this instance. A few quick tries. */
export async function reportCreditsExhausted(cfg: SelfDestructConfig, report: CreditsExhaustedReport, attempts = 3): Promise<CreditsReportResult> {
  if (!cfg.poolUrl || !cfg.instanceId || !cfg.gatewayToken) return { reported: false, error: "POOL_URL, INSTANCE_ID or GATEWAY_TOKEN is not set" };
  const url = `${cfg.poolUrl.replace(/\/+$/u, "")}${creditsExhaustedPath(cfg.instanceId)}`;
  const body = JSON.stringify(CreditsExhaustedReportSchema.parse(report));
  let error = "";
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1_000 * attempt));
    try {
      const res = await (cfg.fetchImpl ?? fetch)(url, {
        method: "POST",
        headers: { authorization: `Bearer ${cfg.gatewayToken}`, "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) {
        CreditsExhaustedResultSchema.parse(await res.json());
        return { reported: true, status: res.status };
      }
      error = `pool answered ${res.status}`;
      if (res.status < 500 && res.status !== 429) return { reported: false, status: res.status, error };
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
  }
  return { reported: false, error };
}

/** What the pool says is left of this instance's monthly model credit; null with the reason when it cannot say. */
export async function fetchOwnCredit(cfg: SelfDestructConfig): Promise<{ credit: InstanceCredit } | { credit: null; error: string }> {
  if (!cfg.poolUrl || !cfg.instanceId || !cfg.gatewayToken) return { credit: null, error: "POOL_URL, INSTANCE_ID or GATEWAY_TOKEN is not set" };
  try {
    const res = await (cfg.fetchImpl ?? fetch)(`${cfg.poolUrl.replace(/\/+$/u, "")}${creditsRemainingPath(cfg.instanceId)}`, {
      headers: { authorization: `Bearer ${cfg.gatewayToken}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) return { credit: null, error: `pool answered ${res.status}` };
    const parsed = InstanceCreditSchema.safeParse(await res.json());
    return parsed.success ? { credit: parsed.data } : { credit: null, error: "the pool's answer is not a credit" };
  } catch (err) {
    return { credit: null, error: err instanceof Error ? err.message : String(err) };
  }
}
