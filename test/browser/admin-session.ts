import type { Browser, BrowserContext, Page } from "playwright-core";
import { expect } from "vitest";
import type { LocalSystem } from "../support/local-system.ts";

export type PageOptions = { viewport?: { width: number; height: number }; javaScriptEnabled?: boolean; isMobile?: boolean };

export const LAPTOP = { width: 1366, height: 850 };

/**
 * Pages of the admin dashboard in one Chromium: each in its own context (its own cookies),
 * every Content Security Policy violation the console reports collected for the suite to
 * assert on, and a login through the real form.
 */
export function adminPages(browser: () => Browser, sys: () => LocalSystem) {
  const contexts: BrowserContext[] = [];
  const cspViolations: string[] = [];

  async function newPage(opts: PageOptions = {}): Promise<Page> {
    const context = await browser().newContext({ viewport: opts.viewport ?? LAPTOP, javaScriptEnabled: opts.javaScriptEnabled ?? true, isMobile: opts.isMobile, hasTouch: opts.isMobile });
    contexts.push(context);
    const page = await context.newPage();
    page.on("console", (msg) => {
      if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text());
    });
    return page;
  }

  /** Opens `path`, is sent to the login form, logs in with the pool key and lands back on `path`. */
  async function loginPage(path = "/admin", opts: PageOptions = {}): Promise<Page> {
    const { baseUrl, apiKey } = sys();
    const page = await newPage(opts);
    await page.goto(`${baseUrl}${path}`);
    expect(new URL(page.url()).pathname).toBe("/admin/login");
    await page.fill("#key", apiKey);
    await Promise.all([page.waitForURL(`${baseUrl}${path}`), page.click("button[type=submit]")]);
    return page;
  }

  async function close(): Promise<void> {
    for (const c of contexts) await c.close().catch(() => {});
  }

  return { newPage, loginPage, cspViolations, close };
}
