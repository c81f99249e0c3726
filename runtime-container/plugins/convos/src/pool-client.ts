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
