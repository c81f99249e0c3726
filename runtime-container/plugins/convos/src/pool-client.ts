import { type JoinReport, joinReportPath } from "./join-report.ts";
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
export type PoolReportResult = { reported: boolean; status?: number; error?: string };

const NOT_CONFIGURED = "POOL_URL, INSTANCE_ID or GATEWAY_TOKEN is not set";
const poolUrl = (cfg: SelfDestructConfig, path: string) => `${cfg.poolUrl!.replace(/\/+$/u, "")}${path}`;

/**
 * POSTs to one of the pool's instance-token routes, a few quick tries: a refusal (wrong token,
 * an instance the pool no longer has in that state) will not change on a retry, a 5xx, a 429 or
 * no answer may. `accept` reads a 2xx body when the caller wants it checked.
 */
async function postToPool(
  cfg: SelfDestructConfig,
  path: string,
  body: unknown,
  opts: { attempts: number; delayMs: (attempt: number) => number; accept?: (res: Response) => Promise<unknown> },
): Promise<PoolReportResult> {
  if (!cfg.poolUrl || !cfg.instanceId || !cfg.gatewayToken) return { reported: false, error: NOT_CONFIGURED };
  let error = "";
  for (let attempt = 0; attempt < opts.attempts; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, opts.delayMs(attempt)));
    try {
      const res = await (cfg.fetchImpl ?? fetch)(poolUrl(cfg, path), {
        method: "POST",
        headers: { authorization: `Bearer ${cfg.gatewayToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) {
        await opts.accept?.(res);
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

/** Backs off 0.5 s, 1 s between its three tries: the instance is going away and says so once. */
export async function requestSelfDestruct(cfg: SelfDestructConfig, reason: string): Promise<SelfDestructResult> {
  const path = `/api/pool/instances/${encodeURIComponent(cfg.instanceId ?? "")}/self-destruct`;
  const { reported, ...rest } = await postToPool(cfg, path, { reason }, { attempts: 3, delayMs: (attempt) => 500 * 2 ** (attempt - 1) });
  return { requested: reported, ...rest };
}

/** A few quick tries; if the pool stays unreachable its next check of this instance records the same thing. */
export function reportJoin(cfg: SelfDestructConfig, report: JoinReport, attempts = 3): Promise<PoolReportResult> {
  return postToPool(cfg, joinReportPath(cfg.instanceId ?? ""), report, { attempts, delayMs: (attempt) => 1_000 * attempt });
}

// --- credits (runtime-container/contract/pool-runtime.ts) -----------------------------------

/** Tells the pool the model refused for lack of credits, so its dashboard marks this instance. A few quick tries. */
export function reportCreditsExhausted(cfg: SelfDestructConfig, report: CreditsExhaustedReport, attempts = 3): Promise<PoolReportResult> {
  return postToPool(cfg, creditsExhaustedPath(cfg.instanceId ?? ""), CreditsExhaustedReportSchema.parse(report), {
    attempts,
    delayMs: (attempt) => 1_000 * attempt,
    accept: async (res) => CreditsExhaustedResultSchema.parse(await res.json()),
  });
}

/** What the pool says is left of this instance's monthly model credit; null with the reason when it cannot say. */
export async function fetchOwnCredit(cfg: SelfDestructConfig): Promise<{ credit: InstanceCredit } | { credit: null; error: string }> {
  if (!cfg.poolUrl || !cfg.instanceId || !cfg.gatewayToken) return { credit: null, error: NOT_CONFIGURED };
  try {
    const res = await (cfg.fetchImpl ?? fetch)(poolUrl(cfg, creditsRemainingPath(cfg.instanceId)), {
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
