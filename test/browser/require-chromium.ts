// Global setup of the browser suites: without Chromium they cannot run, and a launch error per
// test is a wall of stack traces. One line saying what to install, and the run stops.
import { existsSync } from "node:fs";

export default function requireChromium(): void {
  const path = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (existsSync(path)) return;
  console.error(`\nThe browser suites need Chromium at ${path}: install Debian's package (sudo apt-get install -y chromium fonts-noto-color-emoji) or set CHROMIUM_PATH.\n`);
  process.exit(1);
}
