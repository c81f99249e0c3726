import { abortAllDurableObjects } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FAKE_CREDENTIALS, FAKES_CONTROL } from "../support/fakes/credentials";
import { api, counts, fillPool, json, providerState, setFaults, setProviderFaults, supervisorState, tick } from "./helpers";
import { checkInvariants, useRailway } from "./reliability/support";

/**
 * Rollouts of the runtime image through the API, the coordinator's tick and the hosts: the
 * simulated local supervisor (an image is a runtime version label there) and the Railway fake
 * (digest-pinned images, redeploys that keep the service's volume).
 */

interface Row {
  id: string;
  status: string;
  image: string | null;
  runtime_version: string | null;
  service_id: string | null;
  service_name: string;
  conversation_id: string | null;
  last_error: string | null;
}
const allRows = async () => (await env.DB.prepare("SELECT * FROM instances ORDER BY created_at, id").all<Row>()).results;
const live = async () => (await allRows()).filter((r) => !["deleting", "deleted", "dead"].includes(r.status));
const events = async (id: string) =>
  (
    await env.DB.prepare("SELECT from_status, to_status, reason, actor FROM instance_events WHERE instance_id = ? ORDER BY id")
      .bind(id)
      .all<{ from_status: string; to_status: string; reason: string; actor: string }>()
  ).results;
const rollout = async () => (await json(api("/api/pool/rollout"))).body;
const setImage = (image: string, batchSize?: number) => json(api("/api/pool/image", { method: "PUT", json: batchSize === undefined ? { image } : { image, batchSize } }));
const post = (path: string, body: unknown = {}) => json(api(path, { method: "POST", json: body }));
const booting = async (image: string) => (await allRows()).filter((r) => (r.status === "creating" || r.status === "starting") && r.image === image).length;

async function claimOne(): Promise<Row> {
  const res = await post("/api/pool/claim", { agentName: "Ada" });
  expect(res.status).toBe(200);
  return (await allRows()).find((r) => r.id === res.body.instanceId)!;
}

/** Ticks until the rollout reaches `state`, checking `each` after every tick. */
async function tickUntil(state: string, each: () => Promise<void> = async () => {}, max = 15): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await tick();
    await each();
    if ((await rollout()).rollout?.state === state) return i;
  }
  throw new Error(`rollout never reached ${state}: ${JSON.stringify(await rollout())}`);
}

describe("the desired image", () => {
  it("is set only with the pool key, and a bad image or batch size is a 400 naming the problem", async () => {
    expect((await json(api("/api/pool/image", { method: "PUT", json: { image: "v2" }, auth: false }))).status).toBe(401);
    expect((await json(api("/api/pool/rollout", { auth: false }))).status).toBe(401);
    const bad = await setImage("v2; rm -rf /");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: "invalid_image", details: [{ path: "image" }] });
    const batch = await setImage("v2", 99);
    expect(batch.status).toBe(400);
    expect(batch.body.error.message).toMatch(/batchSize/);
    // Nothing was started by the refused requests.
    expect((await rollout()).rollout).toBeNull();
  });

  it("every rollout route is in the OpenAPI document with its schemas", async () => {
    const doc = (await json(api("/api/openapi.json", { auth: false }))).body;
    const put = doc.paths["/api/pool/image"].put;
    expect(Object.keys(put.requestBody.content["application/json"].schema.properties)).toEqual(["image", "batchSize"]);
    expect(put.security).toEqual([{ poolKey: [] }]);
    expect(Object.keys(doc.paths["/api/pool/rollout"].get.responses["200"].content["application/json"].schema.properties)).toEqual(
      expect.arrayContaining(["desiredImage", "rollout", "images", "inFlight", "failed", "remaining"]),
    );
    for (const path of ["/api/pool/rollout/pause", "/api/pool/rollout/resume", "/api/pool/rollout/rollback", "/api/pool/rollout/upgrade-claimed", "/api/pool/instances/{id}/upgrade"]) {
      expect(doc.paths[path]?.post, path).toMatchObject({ security: [{ poolKey: [] }], responses: { "409": expect.anything() } });
    }
  });

  it("on Railway must be digest-pinned, as creates already require", async () => {
    await useRailway();
    const tagged = await setImage("ghcr.io/convos/agent-runtime:latest");
    expect(tagged.status).toBe(400);
    expect(tagged.body.error.code).toBe("invalid_image");
    expect(tagged.body.error.message).toMatch(/not pinned by digest/);
    const pinned = await setImage(`ghcr.io/convos/agent-runtime:1.1.0@sha256:${"b".repeat(64)}`);
    expect(pinned.status).toBe(200);
    expect(pinned.body).toMatchObject({ state: "running", previousImage: FAKE_CREDENTIALS.RAILWAY_RUNTIME_IMAGE });
  });
});

describe("a rollout of idle instances", () => {
  it("replaces every idle instance gradually, never more than batchSize booting, and leaves claimed ones alone", async () => {
    await fillPool(3);
    const claimed = await claimOne();
    await tick(); // its replacement boots…
    await tick(); // …and is ready
    expect((await counts()).idle).toBe(3);

    const started = await setImage("v2", 2);
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ state: "running", targetImage: "v2", previousImage: null, batchSize: 2 });

    await tickUntil("completed", async () => {
      expect(await booting("v2")).toBeLessThanOrEqual(2);
      // Idle capacity never dropped below the floor: new ones came before old ones left.
      expect((await counts()).idle).toBeGreaterThanOrEqual(2);
      const now = (await allRows()).find((r) => r.id === claimed.id)!;
      expect(now).toMatchObject({ status: "claimed", image: null, service_id: claimed.service_id, conversation_id: claimed.conversation_id });
    });

    const idle = (await live()).filter((r) => r.status === "idle");
    expect(idle.length).toBeGreaterThanOrEqual(3);
    // The runtime reports the label it was started with: what /pool/health says, recorded.
    for (const r of idle) expect(r).toMatchObject({ image: "v2", runtime_version: "v2" });
    const sup = await supervisorState();
    expect((sup.services as any[]).find((s) => s.id === claimed.service_id).deploys).toEqual([null]);
    expect(sup.calls.redeploy ?? 0).toBe(0);

    const p = await rollout();
    expect(p).toMatchObject({ desiredImage: "v2", remaining: { idle: 0, claimed: 1 }, inFlight: 0 });
    expect(p.images.find((i: any) => i.image === "v2")).toMatchObject({ idle: idle.length });
    expect(p.images.find((i: any) => i.image === null)).toMatchObject({ claimed: 1, idle: 0 });
    // The same request again starts nothing new; another batch size is taken by the same rollout.
    const again = await setImage("v2", 2);
    expect(again.body).toMatchObject({ id: started.body.id, state: "completed" });
    const metrics = await (await api("/metrics")).text();
    expect(metrics).toContain(`pool_instances_by_image{image="v2",state="idle"} ${idle.length}`);
    expect(metrics).toContain(`pool_instances_by_image{image="unrecorded",state="claimed"} 1`);
    expect(metrics).toMatch(new RegExp(`pool_rollout_info\\{id="${started.body.id}",state="completed",target="v2",previous="unrecorded"\\} 1`));
    expect(metrics).toContain(`pool_rollout_remaining{kind="claimed"} 1`);
    expect(metrics).toContain("pool_rollout_in_flight 0");
    expect(metrics).toContain(`pool_desired_image_info{image="v2"} 1`);
    // Drained old instances went through the lifecycle like any other.
    expect(await checkInvariants({ host: "local" })).toBeGreaterThan(0);
  });

  it("pause stops it, resume continues it, and actions in the wrong state are a 409 that says why", async () => {
    await fillPool(2);
    await setImage("v2", 1);
    expect((await setImage("v2", 3)).body).toMatchObject({ state: "running", batchSize: 3 });
    expect((await setImage("v2", 1)).body).toMatchObject({ state: "running", batchSize: 1 });
    expect((await post("/api/pool/rollout/pause")).body).toMatchObject({ state: "paused" });
    await tick();
    await tick();
    expect((await allRows()).filter((r) => r.image === "v2")).toEqual([]);
    const again = await post("/api/pool/rollout/pause");
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/paused; pause needs one of: running/);

    expect((await post("/api/pool/rollout/resume")).body).toMatchObject({ state: "running" });
    await tick();
    expect(await booting("v2")).toBe(1);
    await tickUntil("completed");
    expect((await post("/api/pool/rollout/resume")).status).toBe(409);
  });

  it("a broken release pauses itself after repeated failures; rollback brings the pool back to the previous image", async () => {
    await setImage("v1");
    await fillPool(2);
    expect((await live()).map((r) => r.image)).toEqual(["v1", "v1"]);
    await setFaults({ badImages: ["v2"] });
    await setImage("v2", 2);

    await tickUntil("paused");
    const paused = await rollout();
    expect(paused.rollout.stateReason).toMatch(/paused after \d+ failures on v2/);
    expect(paused.failed).toBeGreaterThanOrEqual(3);
    // Nothing old was drained for replacements that never became ready.
    expect((await live()).filter((r) => r.status === "idle").map((r) => r.image)).toEqual(["v1", "v1"]);

    expect((await post("/api/pool/rollout/rollback")).body).toMatchObject({ state: "rolling_back" });
    await tickUntil("rolled_back");
    expect((await rollout()).desiredImage).toBe("v1");
    await fillPool(3);
    expect((await live()).map((r) => r.image)).toEqual(["v1", "v1", "v1"]);
    expect((await post("/api/pool/rollout/rollback")).status).toBe(409);
  });

  it("a rollout cut by a coordinator restart resumes where it stopped, without creating twice", async () => {
    await fillPool(3);
    await setImage("v2", 1);
    await tick();
    expect(await booting("v2")).toBe(1);
    const createsBefore = (await supervisorState()).calls.create ?? 0;

    await abortAllDurableObjects();

    await tickUntil("completed", async () => expect(await booting("v2")).toBeLessThanOrEqual(1));
    // Exactly one replacement per old idle instance: the one in flight at the restart was not created again.
    const onV2 = (await allRows()).filter((r) => r.image === "v2");
    expect(onV2.length).toBe(3);
    expect(((await supervisorState()).calls.create ?? 0) - createsBefore).toBe(2);
    expect((await live()).filter((r) => r.status === "idle").map((r) => r.image)).toEqual(["v2", "v2", "v2"]);
  });
});

describe("upgrading claimed instances", () => {
  it("redeploys one on the new image with its volume: same conversation, history records the upgrade", async () => {
    await fillPool(2);
    const claimed = await claimOne();
    await setImage("v2");

    const res = await post(`/api/pool/instances/${claimed.id}/upgrade`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: claimed.id, status: "upgrading", image: "v2" });
    const during = await json(api(`/api/pool/instances/${claimed.id}`));
    expect(during.body).toMatchObject({ status: "upgrading", upgrade: { image: "v2", previousImage: null, phase: "upgrade" } });
    // While it redeploys nobody can claim it and the rollout counts it in flight.
    expect((await rollout()).inFlight).toBeGreaterThanOrEqual(1);

    await tick();
    const after = (await allRows()).find((r) => r.id === claimed.id)!;
    expect(after).toMatchObject({ status: "claimed", image: "v2", runtime_version: "v2", conversation_id: claimed.conversation_id, service_id: claimed.service_id });
    const svc = (await supervisorState()).services.find((s: any) => s.id === claimed.service_id) as any;
    expect(svc.deploys).toEqual([null, "v2"]);
    expect(svc.conversationId).toBe(claimed.conversation_id);
    const history = await events(claimed.id);
    expect(history.slice(-2)).toEqual([
      { from_status: "claimed", to_status: "upgrading", reason: expect.stringMatching(/upgrade from unrecorded to v2/), actor: "api" },
      { from_status: "upgrading", to_status: "claimed", reason: "upgraded to v2 (runtime v2)", actor: "rollout" },
    ]);

    const twice = await post(`/api/pool/instances/${claimed.id}/upgrade`);
    expect(twice.status).toBe(409);
    expect(twice.body.error.message).toMatch(/already runs v2/);
    const idle = (await live()).find((r) => r.status === "idle")!;
    expect((await post(`/api/pool/instances/${idle.id}/upgrade`)).status).toBe(409);
    expect((await post("/api/pool/instances/i-nope/upgrade")).status).toBe(404);
    expect((await post(`/api/pool/instances/${claimed.id}/upgrade`, { image: "../bin/sh" })).status).toBe(400);
  });

  it("a failed upgrade rolls that instance back to its previous image and the history says so", async () => {
    await setImage("v1");
    await fillPool(2);
    const claimed = await claimOne();
    await setFaults({ badImages: ["v3"] });

    expect((await post(`/api/pool/instances/${claimed.id}/upgrade`, { image: "v3" })).status).toBe(202);
    await tick(); // the v3 deployment fails: rolled back (redeployed on v1)
    await tick(); // v1 is healthy again
    const after = (await allRows()).find((r) => r.id === claimed.id)!;
    expect(after).toMatchObject({ status: "claimed", image: "v1", runtime_version: "v1", conversation_id: claimed.conversation_id });
    expect(after.last_error).toMatch(/deployment failed/);
    const svc = (await supervisorState()).services.find((s: any) => s.id === claimed.service_id) as any;
    expect(svc.deploys).toEqual(["v1", "v3", "v1"]);
    expect((await events(claimed.id)).at(-1)).toMatchObject({
      from_status: "upgrading",
      to_status: "claimed",
      reason: expect.stringMatching(/upgrade to v3 failed \(deployment failed\); rolled back to v1/),
    });
    expect(await checkInvariants({ host: "local" })).toBeGreaterThan(0);
  });

  it("an upgrade that is not healthy within the bound (stuckTimeoutMs) is rolled back", async () => {
    await setImage("v1");
    await fillPool(1);
    const claimed = await claimOne();
    await setFaults({ stickInStarting: true });
    expect((await post(`/api/pool/instances/${claimed.id}/upgrade`, { image: "v2" })).status).toBe(202);
    await tick();
    expect((await allRows()).find((r) => r.id === claimed.id)).toMatchObject({ status: "upgrading" });
    await env.DB.prepare("UPDATE instances SET deadline_at = 1 WHERE id = ?").bind(claimed.id).run();
    await tick(); // past the bound: redeployed on v1
    expect((await json(api(`/api/pool/instances/${claimed.id}`))).body.upgrade).toMatchObject({ phase: "rollback", previousImage: "v1" });
    await setFaults({});
    await tick();
    const after = (await allRows()).find((r) => r.id === claimed.id)!;
    expect(after).toMatchObject({ status: "claimed", image: "v1", conversation_id: claimed.conversation_id });
    expect((await events(claimed.id)).at(-1)!.reason).toMatch(/upgrade to v2 failed \(not healthy within the upgrade bound\); rolled back to v1/);
  });

  it("all claimed instances, in batches of batchSize, when the operator asks; an upgrade in flight survives a coordinator restart", async () => {
    await setImage("v1");
    await fillPool(3);
    const a = await claimOne();
    const b = await claimOne();
    const c = await claimOne();
    await setImage("v2", 2);
    expect((await post("/api/pool/rollout/upgrade-claimed")).body).toMatchObject({ upgradeClaimed: true });

    await tick();
    const upgrading = (await allRows()).filter((r) => r.status === "upgrading");
    expect(upgrading.length).toBe(2);
    await abortAllDurableObjects();

    await tickUntil("completed", async () => expect((await allRows()).filter((r) => r.status === "upgrading").length).toBeLessThanOrEqual(2));
    for (const claimed of [a, b, c]) {
      expect((await allRows()).find((r) => r.id === claimed.id)).toMatchObject({ status: "claimed", image: "v2", conversation_id: claimed.conversation_id });
    }
    expect((await rollout()).rollout).toMatchObject({ state: "completed", upgraded: 3, failed: 0 });
  });
  it("after a rollback, upgrading claimed instances brings them back to the previous image", async () => {
    await setImage("v1");
    await fillPool(1);
    const claimed = await claimOne();
    await setImage("v2", 1);
    await post("/api/pool/rollout/upgrade-claimed");
    await tickUntil("completed");
    expect((await allRows()).find((r) => r.id === claimed.id)).toMatchObject({ status: "claimed", image: "v2" });

    expect((await post("/api/pool/rollout/rollback")).body).toMatchObject({ state: "rolling_back", upgradeClaimed: false });
    await tickUntil("rolled_back");
    // The rollback itself leaves claimed instances alone…
    expect((await allRows()).find((r) => r.id === claimed.id)).toMatchObject({ image: "v2" });
    expect((await rollout()).remaining.claimed).toBe(1);
    // …until the operator asks.
    expect((await post("/api/pool/rollout/upgrade-claimed")).body).toMatchObject({ state: "rolling_back", upgradeClaimed: true });
    await tickUntil("rolled_back");
    expect((await allRows()).find((r) => r.id === claimed.id)).toMatchObject({ status: "claimed", image: "v1", runtime_version: "v1", conversation_id: claimed.conversation_id });
    expect((await supervisorState()).services.find((s: any) => s.id === claimed.service_id)!.deploys).toEqual(["v1", "v2", "v1"]);
  });
});

describe("on Railway", () => {
  const NEW = `ghcr.io/convos/agent-runtime:1.1.0@sha256:${"b".repeat(64)}`;
  const BROKEN = `ghcr.io/convos/agent-runtime:1.2.0@sha256:${"d".repeat(64)}`;

  it("an upgrade points the same service at the new image and redeploys it with its volume; a crashing image is rolled back", async () => {
    await useRailway();
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 1, maxTotal: 3, maxCreatesPerTick: 1 } });
    for (let i = 0; i < 3 && (await counts()).idle < 1; i++) {
      await useRailway();
      await tick();
    }
    const [row] = await live();
    expect(row).toMatchObject({ status: "idle", image: FAKE_CREDENTIALS.RAILWAY_RUNTIME_IMAGE });
    // The fake's instances have no provision endpoint: bind this one as a claim would (its
    // conversation lives on its volume) and record it claimed (an hour ago: no claim-rate buffer).
    await fetch(`${FAKES_CONTROL}/railway/bind`, { method: "POST", body: JSON.stringify({ service: row!.service_name }), headers: { "content-type": "application/json" } });
    const now = Date.now();
    await env.DB.prepare("UPDATE instances SET status = 'claimed', conversation_id = 'conv-railway', claimed_at = ?, last_health_at = ? WHERE id = ?")
      .bind(now - 3_600_000, now, row!.id)
      .run();
    await api("/api/pool/settings", { method: "PUT", json: { minIdle: 0 } });

    await useRailway();
    expect((await setImage(NEW)).status).toBe(200);
    expect((await post(`/api/pool/rollout/pause`)).status).toBe(200); // only the claimed upgrade in this test
    const creates = async () => ((await providerState()).railway.calls as { op: string }[]).filter((c) => c.op === "serviceCreate").length;
    const createsBefore = await creates();
    const res = await post(`/api/pool/instances/${row!.id}/upgrade`);
    expect(res.status).toBe(202);

    const svc = () => providerState().then((s) => s.railway.services.find((x: any) => x.id === row!.service_id));
    const first = await svc();
    expect(first.image).toBe(NEW);
    const [boot, upgrade] = first.history;
    expect(upgrade).toMatchObject({ image: NEW });
    expect(upgrade.volumeIds).toEqual(boot.volumeIds);
    expect(boot.volumeIds.length).toBe(1);

    await useRailway();
    await tick();
    expect((await allRows()).find((r) => r.id === row!.id)).toMatchObject({ status: "claimed", image: NEW, runtime_version: "1.1.0" });

    await fetch(`${FAKES_CONTROL}/railway/crash-image`, { method: "POST", body: JSON.stringify({ image: BROKEN }), headers: { "content-type": "application/json" } });
    await useRailway();
    expect((await post(`/api/pool/instances/${row!.id}/upgrade`, { image: BROKEN })).status).toBe(202);
    await useRailway();
    await tick(); // CRASHED: rolled back onto NEW
    await useRailway();
    await tick();
    const after = (await allRows()).find((r) => r.id === row!.id)!;
    expect(after).toMatchObject({ status: "claimed", image: NEW, runtime_version: "1.1.0", service_id: row!.service_id });
    const history = (await svc()).history;
    expect(history.map((d: any) => d.image)).toEqual([FAKE_CREDENTIALS.RAILWAY_RUNTIME_IMAGE, NEW, BROKEN, NEW]);
    expect(history.map((d: any) => d.status)).toEqual(["SUCCESS", "SUCCESS", "CRASHED", "SUCCESS"]);
    for (const d of history) expect(d.volumeIds).toEqual(boot.volumeIds);
    expect((await events(row!.id)).at(-1)!.reason).toMatch(/upgrade to agent-runtime:1.2.0 failed \(deployment CRASHED\); rolled back to agent-runtime:1.1.0/);

    // Railway refusing the redeploy itself (the deploy mutation fails, not the deployment):
    // the instance is put back on its image at once, and stays bound.
    await setProviderFaults("railway", [{ op: "serviceInstanceDeployV2", status: 500, times: 1 }]);
    await useRailway();
    expect((await post(`/api/pool/instances/${row!.id}/upgrade`, { image: BROKEN.replace("1.2.0", "1.3.0") })).status).toBe(202);
    expect((await allRows()).find((r) => r.id === row!.id)).toMatchObject({ status: "upgrading", last_error: expect.stringMatching(/the host refused the redeploy/) });
    await useRailway();
    await tick();
    expect((await allRows()).find((r) => r.id === row!.id)).toMatchObject({ status: "claimed", image: NEW });
    expect((await events(row!.id)).at(-1)!.reason).toMatch(/upgrade to agent-runtime:1.3.0 failed \(the host refused the redeploy: .*\); rolled back to agent-runtime:1.1.0/);
    // Always the same service: nothing was created for the upgrades.
    const calls = (await providerState()).railway.calls as { op: string }[];
    expect(await creates()).toBe(createsBefore);
    expect(calls.filter((c) => c.op === "serviceInstanceDeployV2").length).toBe(6);
  });
});
