import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startLocalSystem, type LocalSystem } from "../support/local-system.ts";
import { adminPages, type PageOptions } from "./admin-session.ts";
import { launchChromium, screenshotPath } from "./chromium.ts";

/**
 * The admin dashboard in a real headless Chromium against the Worker served by Miniflare:
 * what an operator clicks through, with JavaScript on (confirm dialogs, QR modal) and off
 * (every action still works as a plain form post).
 */
let sys: LocalSystem;
let browser: Browser;
const pages = adminPages(
  () => browser,
  () => sys,
);
const { newPage, cspViolations } = pages;
const loginPage = (opts: PageOptions = {}) => pages.loginPage("/admin", opts);

const PHONE = { width: 390, height: 844 };

beforeAll(async () => {
  sys = await startLocalSystem({ POOL_ENVIRONMENT: "staging", ADMIN_URLS: "dev=https://dev.example/admin,staging=http://127.0.0.1/admin,production=https://prod.example/admin" });
  await sys.api("/api/pool/settings", { method: "PUT", json: { minIdle: 3, maxTotal: 10 } });
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
  const res = await sys.api("/api/pool/reconcile", { method: "POST" });
  expect(res.status).toBe(200);
}

async function count(page: Page, status: string): Promise<number> {
  return Number(await page.textContent(`[data-count="${status}"]`));
}

describe("admin dashboard in Chromium", () => {
  it("logs in with the pool key into a Secure HttpOnly session cookie, and shows the counts", async () => {
    const page = await newPage();
    await page.goto(`${sys.baseUrl}/admin/login`);
    await page.fill("#key", "wrong-key");
    await page.click("button[type=submit]");
    await expect(page.textContent("#key-error")).resolves.toContain("Wrong pool key.");

    await page.fill("#key", sys.apiKey);
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin`), page.click("button[type=submit]")]);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "__Host-pool_admin");
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
    expect(await page.content()).not.toContain(sys.apiKey);
    expect(page.url()).not.toContain(sys.apiKey);

    expect(await count(page, "idle")).toBe(3);
    await expect(page.textContent("[data-testid=environment]")).resolves.toBe("staging");
    await expect(page.textContent(".envs a[aria-current]")).resolves.toBe("staging");
    await expect(page.textContent("[data-testid=breaker]")).resolves.toBe("closed");
  });

  it("launches an agent and shows its invite URL and QR, then kills it after a confirm() dialog", async () => {
    const page = await loginPage();
    await page.fill("#launch-agentName", "Browser Bot");
    await page.fill("#launch-instructions", "Say hello to everyone.");
    await Promise.all([page.waitForURL(/\/admin\/instances\/[a-z0-9-]+$/), page.click("#launch button[type=submit]")]);
    const invite = await page.textContent("[data-testid=invite-url]");
    expect(invite).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/);
    const qr = page.locator("[data-testid=invite-qr] svg");
    expect(await qr.isVisible()).toBe(true);
    const box = await qr.boundingBox();
    expect(box!.width).toBeGreaterThan(150);
    await expect(page.textContent(".flash")).resolves.toContain("Browser Bot created a conversation");
    await page.screenshot({ path: screenshotPath("admin-instance-laptop"), fullPage: true });
    const id = page.url().split("/").pop()!;

    // The QR modal on the overview shows the Worker's own SVG for the same invite.
    await page.goto(`${sys.baseUrl}/admin`);
    await page.click(`tr[data-instance="${id}"] a[data-qr]`);
    await page.waitForSelector("#qr-dialog[open]");
    await expect(page.textContent("#qr-dialog [data-qr-url]")).resolves.toBe(invite);
    const src = await page.getAttribute("#qr-dialog img", "src");
    expect(src).toBe(`/admin/instances/${id}/qr.svg`);
    await page.waitForFunction(() => (document.querySelector("#qr-dialog img") as HTMLImageElement).naturalWidth > 0);
    await page.click("#qr-dialog button[type=submit]");
    await page.waitForFunction(() => !(document.getElementById("qr-dialog") as HTMLDialogElement).open);

    // Dismissing the dialog keeps the agent; accepting it kills the agent.
    page.once("dialog", (d) => d.dismiss());
    await page.click(`[data-testid="kill-${id}"]`);
    expect(await page.getAttribute(`tr[data-instance="${id}"]`, "data-status")).toBe("claimed");
    let question = "";
    page.once("dialog", (d) => {
      question = d.message();
      void d.accept();
    });
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin`), page.click(`[data-testid="kill-${id}"]`)]);
    expect(question).toContain("Kill Browser Bot");
    await expect(page.textContent(".flash")).resolves.toContain(`Killed Browser Bot (${id})`);
    expect(["deleting", "deleted"]).toContain((await (await sys.api(`/api/pool/instances/${id}`)).json()).status);
  });

  it("dismisses a crashed agent without JavaScript, through the confirmation page", async () => {
    const claim = await (await sys.api("/api/pool/claim", { method: "POST", json: { agentName: "Crashy" } })).json();
    const instance = await (await sys.api(`/api/pool/instances/${claim.instanceId}`)).json();
    const crash = await fetch(`${sys.supervisorUrl}/_control/services/${instance.serviceId}/crash`, { method: "POST" });
    expect(crash.status).toBe(200);
    await reconcile();
    expect((await (await sys.api(`/api/pool/instances/${claim.instanceId}`)).json()).status).toBe("crashed");

    const page = await loginPage({ javaScriptEnabled: false });
    await page.click("[data-testid=pill-crashed]");
    expect(new URL(page.url()).search).toBe("?status=crashed");
    await page.click(`[data-testid="dismiss-${claim.instanceId}"]`);
    await expect(page.textContent("h1")).resolves.toBe("Dismiss this crashed instance?");
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin`), page.click("button.danger")]);
    await expect(page.textContent(".flash")).resolves.toContain(`Dismissed Crashy (${claim.instanceId})`);
    expect(["deleting", "deleted"]).toContain((await (await sys.api(`/api/pool/instances/${claim.instanceId}`)).json()).status);
  });

  it("rechecks an agent from its page without JavaScript: the tick's checks run now and the page says what they found", async () => {
    const agents = (await (await sys.api("/api/pool/agents?status=idle")).json()).agents as { id: string; serviceId: string }[];
    const { id, serviceId } = agents[0]!;
    const page = await loginPage({ javaScriptEnabled: false });
    await page.goto(`${sys.baseUrl}/admin/instances/${id}`);
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/instances/${id}`), page.click(`[data-testid="recheck-${id}"]`)]);
    await expect(page.textContent(".flash")).resolves.toMatch(/Recheck: recorded, no change of state\. host: \S+; health: ok \(healthy\)/);

    const crash = await fetch(`${sys.supervisorUrl}/_control/services/${serviceId}/crash`, { method: "POST" });
    expect(crash.status).toBe(200);
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/instances/${id}`), page.click(`[data-testid="recheck-${id}"]`)]);
    await expect(page.textContent(".flash")).resolves.toMatch(/Recheck: ready → dead\./);
    await expect(page.textContent("[data-testid=events]")).resolves.toContain("recheck");
    // The tick tears the dead one down and refills the pool for the tests that follow.
    await reconcile();
    await reconcile();
  });

  it("changes a setting, with the validation error shown next to the field first", async () => {
    const page = await loginPage();
    await page.click("nav.nav a[href='/admin/settings']");
    await page.fill("#setting-minIdle", "50");
    await page.fill("#setting-maxTotal", "10");
    await page.click("button[type=submit]:has-text('Save settings')");
    await expect(page.textContent("#setting-minIdle-error")).resolves.toBe("minIdle (50) cannot exceed maxTotal (10)");
    expect(await page.getAttribute("#setting-minIdle", "aria-invalid")).toBe("true");
    await page.fill("#setting-minIdle", "4");
    await page.click("button[type=submit]:has-text('Save settings')");
    await expect(page.textContent(".flash")).resolves.toBe("Settings saved.");
    await page.goto(`${sys.baseUrl}/admin`);
    await expect(page.textContent("[data-setting=minIdle]")).resolves.toBe("4");
  });

  it("filters the instance list by status with the pills", async () => {
    await (await sys.api("/api/pool/claim", { method: "POST", json: { agentName: "Filter Me" } })).json();
    await reconcile();
    const page = await loginPage();
    await page.click("[data-testid=pill-claimed]");
    expect(new URL(page.url()).search).toBe("?status=claimed");
    const statuses = await page.locator("tr[data-instance]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-status")));
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(["claimed"]));
    expect(await page.getAttribute("[data-testid=pill-claimed]", "aria-current")).toBe("true");

    await page.click("[data-testid=pill-idle]");
    const idle = await page.locator("tr[data-instance]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-status")));
    expect(new Set(idle)).toEqual(new Set(["idle"]));
    expect(idle.length).toBe(await count(page, "idle"));
  });

  it("refreshes the counts in the background without touching a form being typed in", async () => {
    const page = await loginPage();
    // Start from a page rendered in answer to a post (a join refused with its error shown):
    // the refresh must still read the overview, and leave the error and the typing alone.
    await page.fill("#join-joinUrl", "https://popup.convos.org/v2?i=abcdefgh1234");
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/join`), page.click("#join button[type=submit]")]);
    await expect(page.textContent("#join-joinUrl-error")).resolves.toContain("production invite");
    const before = await count(page, "idle");
    const stamp = await page.textContent("#refreshed-at");
    await page.fill("#launch-agentName", "Half typed");
    await page.focus("#launch-instructions");
    await sys.api("/api/pool/replenish", { method: "POST", json: { count: 1 } });
    await reconcile();
    const expected = (await (await fetch(`${sys.baseUrl}/api/pool/counts`)).json()).idle as number;
    expect(expected).toBeGreaterThan(before);
    await page.waitForFunction((n) => Number(document.querySelector('[data-count="idle"]')?.textContent) === n, expected, { timeout: 20_000 });
    expect(await page.inputValue("#launch-agentName")).toBe("Half typed");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("launch-instructions");
    await expect(page.textContent("#join-joinUrl-error")).resolves.toContain("production invite");
    const refreshed = await page.textContent("#refreshed-at");
    expect(refreshed).not.toBe(stamp);
    expect(refreshed).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    expect(await page.inputValue("#join-joinUrl")).toBe("https://popup.convos.org/v2?i=abcdefgh1234");
  });

  it("looks right on a laptop and a phone (screenshots in .test-results/screenshots)", async () => {
    const laptop = await loginPage();
    await laptop.screenshot({ path: screenshotPath("admin-overview-laptop"), fullPage: true });

    const phone = await loginPage({ viewport: PHONE, isMobile: true });
    await phone.screenshot({ path: screenshotPath("admin-overview-phone"), fullPage: true });
    // Nothing spills sideways on a phone except inside the scrollable table.
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);

    const id = await phone.getAttribute("tr[data-status=claimed] a", "href");
    await phone.goto(`${sys.baseUrl}${id}`);
    await phone.screenshot({ path: screenshotPath("admin-instance-phone"), fullPage: true });
    expect(await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);

    await laptop.goto(`${sys.baseUrl}/admin/login`);
    expect(cspViolations).toEqual([]);
  });
});
