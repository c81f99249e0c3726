import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { startLocalSystem, type LocalSystem } from "../support/local-system.ts";
import { adminPages } from "./admin-session.ts";
import { launchChromium, screenshotPath } from "./chromium.ts";

/**
 * /admin/rollouts in a real headless Chromium, JavaScript off: an operator starts a rollout,
 * watches the version chart (server-rendered SVG, drawn by the browser), pauses, resumes and
 * upgrades a claimed agent, every step a plain form post.
 */
let sys: LocalSystem;
let browser: Browser;
const pages = adminPages(
  () => browser,
  () => sys,
);
const { cspViolations } = pages;
// JavaScript off: every rollout action must work as a plain form post.
const loginPage = () => pages.loginPage("/admin/rollouts", { javaScriptEnabled: false });

beforeAll(async () => {
  sys = await startLocalSystem();
  await sys.api("/api/pool/settings", { method: "PUT", json: { minIdle: 2, maxTotal: 10 } });
  await reconcile();
  await reconcile();
  browser = await launchChromium();
});

afterAll(async () => {
  await pages.close();
  await browser?.close();
  await sys?.stop();
});

async function reconcile(): Promise<void> {
  expect((await sys.api("/api/pool/reconcile", { method: "POST" })).status).toBe(200);
}

describe("rollouts in Chromium", () => {
  it("starts a rollout from the form, draws the versions chart, pauses, resumes and upgrades a claimed agent without JavaScript", async () => {
    const claim = await sys.api("/api/pool/claim", { method: "POST", json: { agentName: "Browsy" } });
    expect(claim.status).toBe(200);
    const { instanceId } = (await claim.json()) as { instanceId: string };
    await reconcile();
    await reconcile();

    const page = await loginPage();
    await page.fill("#rollout-image", "not a label!");
    await page.click("text=Start rollout");
    await expect(page.textContent("#rollout-image-error")).resolves.toMatch(/not a local runtime version label/);

    await page.fill("#rollout-image", "v2");
    await page.fill("#rollout-batch", "1");
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/rollouts`), page.click("text=Start rollout")]);
    await expect(page.textContent(".flash")).resolves.toMatch(/Rolling out v2, 1 at a time/);
    await reconcile();
    await page.reload();
    await expect(page.textContent("[data-testid=rollout-state]")).resolves.toBe("running");

    // The chart is drawn: one bar group per image, with segments of real width.
    const bars = await page.$$eval("[data-testid=version-chart] g[data-image] rect", (rects) => rects.map((r) => (r as SVGRectElement).getBBox().width));
    expect(bars.length).toBeGreaterThanOrEqual(2);
    for (const w of bars) expect(w).toBeGreaterThan(0);
    expect(await page.$$eval("[data-testid=version-chart] g[data-image]", (gs) => gs.map((g) => g.getAttribute("data-image")))).toEqual(expect.arrayContaining(["unrecorded", "v2"]));
    await page.screenshot({ path: screenshotPath("admin-rollouts-laptop"), fullPage: true });

    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/rollouts`), page.click("button:has-text('Pause')")]);
    await expect(page.textContent("[data-testid=rollout-state]")).resolves.toBe("paused");
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/rollouts`), page.click("button:has-text('Resume')")]);
    await expect(page.textContent("[data-testid=rollout-state]")).resolves.toBe("running");

    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/rollouts`), page.click(`form[action="/admin/rollouts/instances/${instanceId}/upgrade"] button`)]);
    await reconcile();
    const row = (await (await sys.api(`/api/pool/instances/${instanceId}`)).json()) as { status: string; image: string };
    expect(row).toMatchObject({ status: "claimed", image: "v2" });
    expect(cspViolations).toEqual([]);
  });
});
