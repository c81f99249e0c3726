import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { api, counts, fillPool } from "./helpers";

it("200 parallel claims against 50 idle instances: exactly 50 succeed, 150 get 503, none is shared", { timeout: 60_000 }, async () => {
  await fillPool(50);
  expect((await counts()).idle).toBe(50);

  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) => api("/api/pool/claim", { method: "POST", json: { agentName: `agent ${i}` } }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))),
  );
  const ok = results.filter((r) => r.status === 200);
  const empty = results.filter((r) => r.status === 503);
  expect(ok).toHaveLength(50);
  expect(empty).toHaveLength(150);
  expect(new Set(ok.map((r) => r.body.instanceId)).size).toBe(50);
  expect(new Set(ok.map((r) => r.body.conversationId)).size).toBe(50);

  const c = await counts();
  expect(c.claimed).toBe(50);
  expect(c.idle).toBe(0);
  expect(c.claiming).toBe(0);
  // Each claimed row went idle → claiming → claimed exactly once.
  const events = await env.DB.prepare("SELECT instance_id, count(*) AS n FROM instance_events WHERE to_status = 'claimed' GROUP BY instance_id HAVING n > 1").all();
  expect(events.results).toHaveLength(0);
  const claimedRows = await env.DB.prepare("SELECT count(*) AS n FROM instances WHERE status = 'claimed' AND conversation_id IS NOT NULL").first<{ n: number }>();
  expect(claimedRows!.n).toBe(50);
});
