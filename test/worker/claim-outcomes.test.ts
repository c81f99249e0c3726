import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLAIM_FAILURE_HTTP, isInterruption } from "../../worker/domain/claim-outcomes";
import { api, json } from "./helpers";

describe("claim outcomes", () => {
  it("one table answers for every surface", () => {
    // The API, the dashboard and the catalog disagreed on this one (422 vs 409).
    expect(CLAIM_FAILURE_HTTP.idempotency_conflict.status).toBe(422);
    expect(CLAIM_FAILURE_HTTP.claim_interrupted.status).toBe(503);
    expect(CLAIM_FAILURE_HTTP.invalid_join_url).toEqual({ status: 400, field: "joinUrl" });
  });

  it("only the infrastructure's exceptions are interruptions, not those of the coordinator's own code", () => {
    expect(isInterruption(Object.assign(new Error("Durable Object reset because its code was updated."), { retryable: true }))).toBe(true);
    expect(isInterruption(Object.assign(new Error("Durable Object is overloaded."), { overloaded: true }))).toBe(true);
    expect(isInterruption(Object.assign(new Error("D1_ERROR: no such table: claims"), { remote: true }))).toBe(false);
    expect(isInterruption(Object.assign(new TypeError("x is undefined"), { remote: true }))).toBe(false);
  });

  it("a D1 failure inside the claim is a 500 in the one error shape, not claim_interrupted", async () => {
    // A claim reads D1 only when the coordinator's queue of idle instances is empty (it then
    // looks for idle rows it has not seen): here the queue is empty, so that read is the one that fails.
    await env.DB.exec("ALTER TABLE instances RENAME TO instances_hidden");
    try {
      const res = await json(api("/api/pool/claim", { method: "POST", json: {}, headers: { "idempotency-key": "d1-down-1" } }));
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: "internal_error", message: expect.any(String) } });
    } finally {
      await env.DB.exec("ALTER TABLE instances_hidden RENAME TO instances");
    }
  });
});
