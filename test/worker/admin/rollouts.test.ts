import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, fillPool, json, tick } from "../helpers";
import { admin, login, text } from "./helpers";

/** /admin/rollouts: the same rollout the API drives, through plain forms (no script needed). */

const imageOf = async (id: string) => (await env.DB.prepare("SELECT image, status FROM instances WHERE id = ?").bind(id).first<{ image: string | null; status: string }>())!;

describe("admin rollouts page", () => {
  it("needs a session, and every action needs the session's CSRF token", async () => {
    expect((await admin("/admin/rollouts")).status).toBe(303);
    const op = await login("10.20.0.1");
    const forged = await admin("/admin/rollouts/image", { cookie: op.cookie, form: { image: "v2" } });
    expect(forged.status).toBe(403);
    expect((await json(api("/api/pool/rollout"))).body.rollout).toBeNull();
  });

  it("sets the desired image, shows progress as a chart per image, pauses and resumes", async () => {
    await fillPool(2);
    const op = await login("10.20.0.2");

    const bad = await op.post("/admin/rollouts/image", { image: "not a label!", batchSize: "2" });
    expect(bad.status).toBe(400);
    expect(text(bad.html)).toMatch(/Nothing was started/);
    expect(text(bad.html)).toMatch(/not a local runtime version label/);
    const badBatch = await op.post("/admin/rollouts/image", { image: "v2", batchSize: "50" });
    expect(badBatch.status).toBe(400);
    expect(text(badBatch.html)).toMatch(/A whole number from 1 to 20/);

    const started = await op.post("/admin/rollouts/image", { image: "v2", batchSize: "1" });
    expect(started.status).toBe(303);
    await tick();
    const page = await op.get("/admin/rollouts");
    expect(page.status).toBe(200);
    const t = text(page.html);
    expect(t).toMatch(/Rolling out v2, 1 at a time/);
    expect(page.html).toMatch(/data-testid="desired-image">v2</);
    expect(page.html).toMatch(/data-testid="rollout-state">running</);
    expect(page.html).toMatch(/data-testid="rollout-in-flight">1</);
    // The chart has one bar group per image: the old (unrecorded) one and v2, booting.
    expect(page.html).toMatch(/<svg[^>]*data-testid="version-chart"/);
    expect(page.html).toMatch(/<g data-image="v2">[\s\S]*?<title>1 booting on v2<\/title>/);
    expect(page.html).toMatch(/<g data-image="unrecorded">[\s\S]*?<title>2 ready on unrecorded<\/title>/);

    expect((await op.post("/admin/rollouts/pause")).status).toBe(303);
    expect((await op.get("/admin/rollouts")).html).toMatch(/data-testid="rollout-state">paused</);
    const again = await op.post("/admin/rollouts/pause");
    expect(again.status).toBe(409);
    expect(text(again.html)).toMatch(/pause needs one of: running/);
    expect((await op.post("/admin/rollouts/resume")).status).toBe(303);
    expect((await json(api("/api/pool/rollout"))).body.rollout.state).toBe("running");
  });

  it("lists claimed instances on another image and upgrades one with its button", async () => {
    await fillPool(2);
    const claim = await json(api("/api/pool/claim", { method: "POST", json: { agentName: "Grace" } }));
    const id = claim.body.instanceId as string;
    const op = await login("10.20.0.3");
    await op.post("/admin/rollouts/image", { image: "v2", batchSize: "2" });

    const page = await op.get("/admin/rollouts");
    expect(page.html).toMatch(new RegExp(`<tr data-testid="upgrade-row">[\\s\\S]*?/admin/instances/${id}[\\s\\S]*?Grace[\\s\\S]*?action="/admin/rollouts/instances/${id}/upgrade"`));
    expect(text(page.html)).toMatch(/Upgrade all claimed \(1\)/);

    const up = await op.post(`/admin/rollouts/instances/${id}/upgrade`);
    expect(up.status).toBe(303);
    expect(await imageOf(id)).toMatchObject({ status: "upgrading" });
    expect(text((await op.get("/admin/rollouts")).html)).toMatch(/Upgrading .* to v2: it is redeployed with its volume/);
    // The overview shows the instance under its own pill while it redeploys.
    expect((await op.get("/admin")).html).toMatch(/data-testid="pill-upgrading"[\s\S]*?<b data-count="upgrading">1<\/b>/);
    await tick();
    expect(await imageOf(id)).toEqual({ status: "claimed", image: "v2" });
    expect(text((await op.get("/admin/rollouts")).html)).toMatch(/Every claimed instance runs the desired image/);
  });
});
