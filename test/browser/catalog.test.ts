import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalSystem, type LocalSystem } from "../support/local-system.ts";
import { launchChromium, screenshotPath } from "./chromium.ts";

/**
 * The public catalog in a real headless Chromium against the Worker served by Miniflare:
 * what a visitor does on a phone and on a laptop — browse, filter, start an agent, join one
 * into an existing chat, and wait out an empty pool.
 */
let sys: LocalSystem;
let browser: Browser;
const contexts: BrowserContext[] = [];
const cspViolations: string[] = [];

const LAPTOP = { width: 1366, height: 850 };
const PHONE = { width: 390, height: 844 };

beforeAll(async () => {
  // One browser is one client address: give it room for every claim this file makes.
  sys = await startLocalSystem({ PUBLIC_CLAIM_CLIENT_LIMIT: "50" });
  browser = await launchChromium();
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await sys?.stop();
  expect(cspViolations).toEqual([]);
});

async function settings(patch: Record<string, number>): Promise<void> {
  const res = await sys.api("/api/pool/settings", { method: "PUT", json: patch });
  expect(res.status).toBe(200);
}

/** Creates `count` instances and makes them ready (the simulated supervisor boots them at once). */
async function fill(count: number): Promise<void> {
  expect((await sys.api("/api/pool/replenish", { method: "POST", json: { count } })).status).toBe(200);
  expect((await sys.api("/api/pool/reconcile", { method: "POST" })).status).toBe(200);
  const counts = (await (await sys.api("/api/pool/counts")).json()) as Record<string, number>;
  expect(counts.idle).toBeGreaterThanOrEqual(count);
}

async function newPage(opts: { viewport?: { width: number; height: number }; isMobile?: boolean; javaScriptEnabled?: boolean } = {}): Promise<Page> {
  const context = await browser.newContext({
    viewport: opts.viewport ?? LAPTOP,
    isMobile: opts.isMobile,
    hasTouch: opts.isMobile,
    deviceScaleFactor: opts.isMobile ? 2 : 1,
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
  });
  contexts.push(context);
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  return page;
}

/** Nothing on the page is wider than the screen: no sideways scrolling on a phone. */
async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
}

describe("empty pool", () => {
  it("shows 'all agents are busy' and starts the agent by itself once one is free", async () => {
    // Nothing idle and nothing may be created until we say so.
    await settings({ minIdle: 0, maxTotal: 0 });
    const page = await newPage({ viewport: PHONE, isMobile: true });
    await page.goto(`${sys.baseUrl}/a/event-organizer`);
    await Promise.all([page.waitForURL(`${sys.baseUrl}/a/event-organizer/start`), page.click("#start-form button[type=submit]")]);
    await expect(page.textContent("h1")).resolves.toBe("All agents are busy");
    await expect(page.textContent("#retry-status")).resolves.toMatch(/Trying again in \d+ seconds/);
    await page.screenshot({ path: screenshotPath("catalog-busy-phone"), fullPage: true });

    // Agents become available; the page notices on its next check and submits the claim.
    await settings({ maxTotal: 10 });
    await fill(1);
    await page.waitForSelector("#invite-link", { timeout: 40_000 });
    await expect(page.textContent("h1")).resolves.toContain("Event Organizer is waiting in your new chat");
  }, 60_000);
});

describe("browse → start → invite", () => {
  it("on a laptop: the catalog, featured first, a category filter, a template page, Start, the invite with its QR code", async () => {
    await settings({ minIdle: 0, maxTotal: 10 });
    await fill(2);
    const page = await newPage();
    await page.goto(`${sys.baseUrl}/`);
    await expect(page.title()).resolves.toContain("Convos Agents");
    const cards = page.locator(".grid .card");
    await expect(cards.count()).resolves.toBe(6);
    await expect(cards.first().locator(".featured").count()).resolves.toBe(1);
    await page.screenshot({ path: screenshotPath("catalog-laptop"), fullPage: true });

    await Promise.all([page.waitForURL(`${sys.baseUrl}/?category=food`), page.click('.pills a:text-is("Food")')]);
    await expect(cards.count()).resolves.toBe(1);
    await expect(cards.first().locator("h2").textContent()).resolves.toBe("Dinner Picker");

    await Promise.all([page.waitForURL(`${sys.baseUrl}/a/dinner-picker`), cards.first().click()]);
    await expect(page.textContent("h1")).resolves.toBe("Dinner Picker");
    await expect(page.locator('meta[property="og:image"]').getAttribute("content")).resolves.toBe(`${sys.baseUrl}/a/dinner-picker/og.svg`);
    await page.screenshot({ path: screenshotPath("template-laptop"), fullPage: true });

    await Promise.all([page.waitForURL(`${sys.baseUrl}/a/dinner-picker/start`), page.click("#start-form button[type=submit]")]);
    const invite = await page.getAttribute("#invite-link", "href");
    expect(invite).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/);
    await expect(page.textContent(".link")).resolves.toBe(invite);
    const qr = page.locator(".qr svg");
    expect(await qr.isVisible()).toBe(true);
    const box = (await qr.boundingBox())!;
    expect(box.width).toBeGreaterThan(150);
    await expect(page.textContent("#open-h")).resolves.toBe("Open it in the Convos app");
    await expect(page.locator("#copy").isVisible()).resolves.toBe(true);
    await page.screenshot({ path: screenshotPath("catalog-started-laptop"), fullPage: true });

    // The operator sees the same agent, claimed from the catalog.
    const agents = (await (await sys.api("/api/pool/agents?status=claimed")).json()) as { agents: { inviteUrl: string; template: string }[] };
    expect(agents.agents.find((a) => a.inviteUrl === invite)).toMatchObject({ template: "dinner-picker" });
  });

  it("on a phone: readable cards, no sideways scrolling, and the same flow works without JavaScript", async () => {
    await fill(1);
    const page = await newPage({ viewport: PHONE, isMobile: true, javaScriptEnabled: false });
    await page.goto(`${sys.baseUrl}/`);
    await expectNoHorizontalScroll(page);
    const first = page.locator(".grid .card").first();
    const fontSize = await first.locator("p").evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    expect(fontSize).toBeGreaterThanOrEqual(15);
    await page.screenshot({ path: screenshotPath("catalog-phone"), fullPage: true });

    await page.goto(`${sys.baseUrl}/a/trip-planner`);
    await expectNoHorizontalScroll(page);
    const button = page.locator("#start-form button[type=submit]");
    expect((await button.boundingBox())!.height).toBeGreaterThanOrEqual(44);
    await page.screenshot({ path: screenshotPath("template-phone"), fullPage: true });

    await Promise.all([page.waitForURL(`${sys.baseUrl}/a/trip-planner/start`), button.click()]);
    await expect(page.getAttribute("#invite-link", "href")).resolves.toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/);
    await expect(page.locator(".qr svg").isVisible()).resolves.toBe(true);
    // Copying needs JavaScript: without it the button stays out of the way.
    await expect(page.locator("#copy").isVisible()).resolves.toBe(false);
    await expectNoHorizontalScroll(page);
    await page.screenshot({ path: screenshotPath("catalog-started-phone"), fullPage: true });
  });
});

describe("join", () => {
  it("pastes an invite link of an existing chat and the agent joins it; a wrong link is explained", async () => {
    await fill(1);
    const page = await newPage({ viewport: PHONE, isMobile: true });
    await page.goto(`${sys.baseUrl}/a/study-buddy`);

    await page.fill("#join-url", "https://popup.convos.org/v2?i=abcdefgh12345678");
    await Promise.all([page.waitForURL(`${sys.baseUrl}/a/study-buddy/join`), page.click("#join-form button[type=submit]")]);
    await expect(page.textContent("#join-error")).resolves.toContain("different Convos network");
    await expect(page.inputValue("#join-url")).resolves.toBe("https://popup.convos.org/v2?i=abcdefgh12345678");

    await page.fill("#join-url", "https://dev.convos.org/v2?i=abcdefgh12345678");
    await Promise.all([page.waitForURL(`${sys.baseUrl}/a/study-buddy/join`), page.click("#join-form button[type=submit]")]);
    await expect(page.textContent("h1")).resolves.toContain("Study Buddy joined your chat");
    await page.screenshot({ path: screenshotPath("catalog-joined-phone"), fullPage: true });
  });
});

describe("operators", () => {
  it("create a template in the admin dashboard and it appears in the public catalog", async () => {
    const page = await newPage();
    await page.goto(`${sys.baseUrl}/admin/login`);
    await page.fill("#key", sys.apiKey);
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin`), page.click("button[type=submit]")]);
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/templates`), page.click('nav a:text-is("Templates")')]);
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/templates/new`), page.click('[data-testid="new-template"]')]);
    await page.fill("#tpl-slug", "book-club");
    await page.fill("#tpl-name", "Book Club");
    await page.fill("#tpl-emoji", "📖");
    await page.fill("#tpl-category", "Learning");
    await page.fill("#tpl-skills", "browser");
    await page.fill("#tpl-description", "Picks the next book, keeps everyone on pace and runs the discussion.");
    await page.fill("#tpl-instructions", "Run a friendly book club.");
    await page.selectOption("#tpl-featured", "yes");
    await Promise.all([page.waitForURL(`${sys.baseUrl}/admin/templates`), page.click('[data-testid="template-form"] button[type=submit]')]);
    await expect(page.textContent(".flash")).resolves.toContain("Created Book Club");
    await expect(page.locator('tr[data-template="book-club"]').count()).resolves.toBe(1);
    await page.screenshot({ path: screenshotPath("admin-templates-laptop"), fullPage: true });

    await page.goto(`${sys.baseUrl}/?category=learning`);
    const slugs = await page.locator(".grid .card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-slug")));
    // Featured first.
    expect(slugs).toEqual(["book-club", "study-buddy"]);
  });
});
