import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PoolContext } from "../../../durable-objects/pool-coordinator/context";
import { createInstance } from "../../../durable-objects/pool-coordinator/create-instance";
import { teardown } from "../../../durable-objects/pool-coordinator/teardown";
import { database } from "../../../worker/db/client";
import { getInstance, transition } from "../../../worker/db/instances";
import { instances } from "../../../worker/db/schema";
import { FAKE_CREDENTIALS as C } from "../../support/fakes/credentials";
import { type FakeFault, providerControl, providerState, setProviderFaults } from "../helpers";
import { until } from "../reliability/support";
import { liveResources, NOTHING, providerContext, settings, tickWith } from "./support";

/**
 * SPEC §1: every Railway instance has a volume at /data, created through the API and attached
 * before the first deploy, recorded on the row before the call that depends on it, deleted at
 * teardown and swept with an orphan; a failure at any step leaves nothing behind.
 */
const db = () => database(env.DB);
const create = (ctx: PoolContext) => createInstance(ctx, settings(), "test", "test create", new Set());
const railway = async () => (await providerState()).railway as { services: any[]; volumes: any[]; calls: { op: string; status: number }[] };

async function cleanUp(ctx: PoolContext, id: string) {
  const row = (await getInstance(db(), id))!;
  const moved = row.status === "deleting" ? row : await transition(db(), { id, from: row.status as any, to: "deleting", reason: "cleanup", actor: "test", now: Date.now() }, settings());
  return teardown(ctx, moved!, settings(), "test");
}

/** A GraphQL call to the fake as someone else with the same token would make it. */
async function gql(query: string, variables: Record<string, unknown>) {
  const res = await fetch("https://backboard.railway.com/graphql/v2", {
    method: "POST",
    headers: { authorization: `Bearer ${C.RAILWAY_API_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  return ((await res.json()) as { data: any }).data;
}

describe("the volume of a Railway instance", () => {
  it("is attached at /data before the first deploy and on the row before that deploy is asked for", async () => {
    const ctx = providerContext();
    await setProviderFaults("railway", [{ op: "serviceInstanceDeployV2", delayMs: 300 }]);
    const creating = create(ctx);
    // While the deploy is on its way: the volume exists, is attached, is recorded, and nothing has booted.
    await until("the deploy is asked for", async () => (await railway()).volumes.length === 1 && (await railway()).services[0]?.image !== null);
    const [row] = (await env.DB.prepare("SELECT id, status, volume_id FROM instances").all<{ id: string; status: string; volume_id: string | null }>()).results;
    const during = await railway();
    expect(row).toMatchObject({ status: "creating", volume_id: during.volumes[0].id });
    expect(during.services[0].deployments).toBe(0);
    expect(during.volumes[0]).toMatchObject({ serviceId: during.services[0].id, mountPath: "/data" });

    const result = await creating;
    expect(result.ok).toBe(true);
    const after = await railway();
    expect(after.services[0]).toMatchObject({ bootVolumes: ["/data"], deployments: 1 });
    expect(after.calls.map((c) => c.op)).toEqual(["serviceCreate", "serviceDomainCreate", "volumeCreate", "serviceInstanceUpdate", "serviceInstanceDeployV2"]);
    if (result.ok) expect(result.row.volumeId).toBe(after.volumes[0].id);
  });

  it("is deleted at teardown, before its service, and the row forgets both", async () => {
    const ctx = providerContext();
    const result = await create(ctx);
    if (!result.ok) throw new Error(result.error);
    expect(await cleanUp(ctx, result.row.id)).toBe(true);
    const ops = (await railway()).calls.map((c) => c.op);
    expect(ops.slice(-2)).toEqual(["volumeDelete", "serviceDelete"]);
    expect(await getInstance(db(), result.row.id)).toMatchObject({ status: "deleted", serviceId: null, volumeId: null });
    expect(await liveResources()).toEqual(NOTHING);
  });

  it("a volume delete that fails keeps the row deleting with what is left recorded; the retry finishes", async () => {
    const ctx = providerContext();
    const result = await create(ctx);
    if (!result.ok) throw new Error(result.error);
    await setProviderFaults("railway", [{ op: "volumeDelete", status: 500 }]);
    expect(await cleanUp(ctx, result.row.id)).toBe(false);
    const waiting = (await getInstance(db(), result.row.id))!;
    expect(waiting).toMatchObject({ status: "deleting", volumeId: result.row.volumeId, serviceId: result.row.serviceId, teardownAttempts: 1 });
    // The service was not deleted first, so the volume is still attached to something we own.
    expect((await railway()).services).toHaveLength(1);

    await setProviderFaults("railway", []);
    expect(await teardown(ctx, waiting, settings(), "test")).toBe(true);
    expect(await liveResources()).toEqual(NOTHING);
  });

  const failures: [string, FakeFault][] = [
    ["the service create answers 500", { op: "serviceCreate", status: 500 }],
    ["the domain create answers 500", { op: "serviceDomainCreate", status: 500 }],
    ["the volume create answers 500", { op: "volumeCreate", status: 500 }],
    ["the image cannot be set", { op: "serviceInstanceUpdate", status: 500 }],
    ["the deploy answers 500", { op: "serviceInstanceDeployV2", status: 500 }],
    // Railway made the volume but the answer never came back: nobody knows its id.
    ["the volume create's answer is lost", { op: "volumeCreate", delayMs: 700 }],
  ];
  for (const [what, fault] of failures) {
    it(`leaves nothing behind when ${what}`, async () => {
      const ctx = providerContext();
      await setProviderFaults("railway", [fault]);
      const result = await create(ctx);
      expect(result.ok).toBe(false);
      const dead = (await getInstance(db(), result.ok ? "" : result.id))!;
      expect(dead.status).toBe("dead");
      await setProviderFaults("railway", []);
      // A lost answer's volume appears once Railway finishes the call.
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs! + 100));
      await cleanUp(ctx, dead.id);
      // Whatever the create's own cleanup could not find, the next tick's sweep does.
      await tickWith(ctx, { ...settings(), minIdle: 0 });
      expect(await liveResources()).toEqual(NOTHING);
    });
  }

  it("an orphan service is swept with its volume; other services' volumes are left alone", async () => {
    const ctx = providerContext();
    const orphan = await providerControl("/railway/services", { name: "convos-agent-iorphan1", status: "SUCCESS" });
    const other = await providerControl("/railway/services", { name: "postgres", status: "SUCCESS" });
    const attach = "mutation V($input: VolumeCreateInput!) { volumeCreate(input: $input) { id } }";
    for (const serviceId of [orphan.id, other.id]) {
      await gql(attach, { input: { projectId: C.RAILWAY_PROJECT_ID, environmentId: C.RAILWAY_ENVIRONMENT_ID, serviceId, mountPath: "/data" } });
    }
    const summary = await tickWith(ctx, { ...settings(), minIdle: 0 });
    expect(summary.orphansDeleted).toBe(1);
    const left = await railway();
    expect(left.services.map((s) => s.name)).toEqual(["postgres"]);
    expect(left.volumes.map((v) => v.serviceId)).toEqual([other.id]);
  });

  it("a create cut after its domain is finished by the tick that adopts it: volume attached before its first deploy", async () => {
    const ctx = providerContext();
    // The coordinator died right after the domain: the service has no volume and never deployed.
    const row = await db()
      .insert(instances)
      .values({ id: "icut1", status: "creating", statusChangedAt: Date.now(), createdAt: Date.now(), provider: "railway", serviceName: "convos-agent-icut1" })
      .returning();
    const made = await gql("mutation S($input: ServiceCreateInput!) { serviceCreate(input: $input) { id } }", {
      input: { projectId: C.RAILWAY_PROJECT_ID, environmentId: C.RAILWAY_ENVIRONMENT_ID, name: row[0]!.serviceName },
    });
    await gql("mutation D($input: ServiceDomainCreateInput!) { serviceDomainCreate(input: $input) { id } }", { input: { serviceId: made.serviceCreate.id, environmentId: C.RAILWAY_ENVIRONMENT_ID } });

    await tickWith(ctx, { ...settings(), minIdle: 0 });
    const adopted = (await getInstance(db(), "icut1"))!;
    const state = await railway();
    expect(adopted).toMatchObject({ status: "starting", serviceId: made.serviceCreate.id, volumeId: state.volumes[0].id });
    expect(state.services[0]).toMatchObject({ bootVolumes: ["/data"], deployments: 1 });
  });
});
