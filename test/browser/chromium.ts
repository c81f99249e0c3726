import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { ROOT } from "../../local/worker-host.ts";

/** Debian's Chromium, headless, with the flags this closed network needs. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** Screenshots go where a person can look at them after the run. */
export function screenshotPath(name: string): string {
  const dir = join(ROOT, ".test-results/screenshots");
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.png`);
}
