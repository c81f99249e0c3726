import {
  type ConvosStatus,
  ConvosStatusSchema,
  type Health,
  HealthSchema,
  jsonBytes,
  PROVISION_BODY_MAX_BYTES,
  type ProvisionRequest,
  type ProvisionResult,
  ProvisionResultSchema,
} from "../../runtime-container/contract/pool-runtime";
import { type Deadlines, perCallDeadlines, timeoutSignal } from "../lib/deadlines";

/**
 * The pool's side of the runtime container's HTTP contract (runtime-container/contract/):
 * readiness, provisioning and the convos status used to decide if a failed claim left the
 * instance clean.
 */
export type { ConvosStatus, Health, ProvisionRequest, ProvisionResult };

export type HealthCheck = { ok: true; health: Health } | { ok: false; reason: string };
export type ProvisionOutcome =
  | { ok: true; result: ProvisionResult }
  /**
   * timed_out: the instance may still be working on it, so whether it ends up bound is unknown.
   * not_ready: the front server refused before forwarding (503 not_ready). unreachable: no answer
   * at all (connection refused or reset). invalid_invite: the instance's CLI could not read the
   * invite (400 invalid_invite, before anything was bound); reason is its explanation.
   */
  | { ok: false; kind: "already_bound" | "failed" | "timed_out" | "not_ready" | "unreachable" | "invalid_invite"; reason: string };

export interface InstanceClientOptions {
  fetch?: typeof fetch;
  healthTimeoutMs?: number;
  provisionTimeoutMs?: number;
  /** Where the calls' timeouts are kept: the coordinator passes its own shared ones (worker/lib/deadlines.ts). */
  deadlines?: Deadlines;
}

export function createInstanceClient(opts: InstanceClientOptions = {}) {
  const doFetch = opts.fetch ?? fetch;
  const deadlines = opts.deadlines ?? perCallDeadlines;
  const url = (base: string, path: string) => `${base.replace(/\/$/, "")}${path}`;

  return {
    async health(baseUrl: string, timeoutMs = opts.healthTimeoutMs ?? 5_000): Promise<HealthCheck> {
      const timeout = timeoutSignal(deadlines, timeoutMs);
      try {
        const res = await doFetch(url(baseUrl, "/pool/health"), { signal: timeout.signal });
        const body = HealthSchema.safeParse(await res.json().catch(() => null));
        if (!body.success) return { ok: false, reason: `health answered ${res.status} with an unexpected body` };
        if (!res.ok || !body.data.ready) return { ok: false, reason: `not ready (${res.status})` };
        return { ok: true, health: body.data };
      } catch (err) {
        return { ok: false, reason: `health check failed: ${(err as Error).name === "TimeoutError" ? "timed out" : (err as Error).message}` };
      } finally {
        timeout.clear();
      }
    },

    /** `abandon`: the caller gives up early (the claim's readiness probe failed). */
    async provision(baseUrl: string, token: string, req: ProvisionRequest, abandon?: AbortSignal): Promise<ProvisionOutcome> {
      // Checked where the bytes are sent: a template's instructions join the claim's fields here.
      const size = jsonBytes(req);
      if (size > PROVISION_BODY_MAX_BYTES) {
        return { ok: false, kind: "failed", reason: `provision body of ${size} bytes exceeds the instances' ${PROVISION_BODY_MAX_BYTES}` };
      }
      const timeout = timeoutSignal(deadlines, opts.provisionTimeoutMs ?? 75_000);
      try {
        const res = await doFetch(url(baseUrl, "/pool/provision"), {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(req),
          signal: abandon ? AbortSignal.any([timeout.signal, abandon]) : timeout.signal,
        });
        if (res.status === 409) return { ok: false, kind: "already_bound", reason: "instance answered 409: already bound" };
        if (!res.ok) {
          const error = (
            (await res
              .clone()
              .json()
              .catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null
          )?.error;
          const code = error?.code;
          if (res.status === 400 && code === "invalid_invite") {
            return { ok: false, kind: "invalid_invite", reason: typeof error?.message === "string" ? error.message : "the invite could not be read" };
          }
          if (res.status === 503 && code === "not_ready") return { ok: false, kind: "not_ready", reason: "provision answered 503 not_ready" };
          // The front server always answers errors in its own shape; a 5xx without it is the
          // host's (Railway's edge: "Application failed to respond"): no instance process got it.
          if (res.status >= 500 && typeof code !== "string") return { ok: false, kind: "unreachable", reason: `provision answered ${res.status} from the host, not the instance` };
          return { ok: false, kind: "failed", reason: `provision answered ${res.status}` };
        }
        const body = ProvisionResultSchema.safeParse(await res.json().catch(() => null));
        if (!body.success) return { ok: false, kind: "failed", reason: "provision answered an unexpected body" };
        return { ok: true, result: body.data };
      } catch (err) {
        if ((err as Error).name === "TimeoutError") return { ok: false, kind: "timed_out", reason: "provision failed: timed out" };
        return { ok: false, kind: "unreachable", reason: `provision got no answer: ${(err as Error).message}` };
      } finally {
        timeout.clear();
      }
    },

    async convosStatus(baseUrl: string, token: string): Promise<ConvosStatus | null> {
      const timeout = timeoutSignal(deadlines, opts.healthTimeoutMs ?? 5_000);
      try {
        const res = await doFetch(url(baseUrl, "/convos/status"), {
          headers: { authorization: `Bearer ${token}` },
          signal: timeout.signal,
        });
        if (!res.ok) return null;
        const body = ConvosStatusSchema.safeParse(await res.json().catch(() => null));
        return body.success ? body.data : null;
      } catch {
        return null;
      } finally {
        timeout.clear();
      }
    },
  };
}

export type InstanceClient = ReturnType<typeof createInstanceClient>;
