// Image build step: boot the instance once (OpenClaw gateway included) until /pool/health
// is ready, then stop it. Node's compile cache (NODE_COMPILE_CACHE) keeps the compiled
// code, so every container created from the image starts warm instead of compiling
// OpenClaw's bundles again on the pool's clock.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.ts");
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "warm-boot-"));
const port = 18000 + Math.floor(Math.random() * 1000);
const timeoutMs = Number(process.env.WARM_BOOT_TIMEOUT_MS) || 300_000;
const started = Date.now();

const child = spawn(process.execPath, [main], {
  // No identity is registered at build time: the image must not carry an inbox, and a build
  // has no XMTP network to register with.
  env: { ...process.env, PORT: String(port), STATE_DIR: stateDir, OPENCLAW_GATEWAY_PORT: "0", GATEWAY_TOKEN: "warm-boot", CONVOS_PREREGISTER: "off" },
  stdio: ["ignore", "inherit", "inherit"],
});

async function ready(): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/pool/health`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

let ok = false;
while (Date.now() - started < timeoutMs && child.exitCode === null) {
  if (await ready()) {
    ok = true;
    break;
  }
  await new Promise((r) => setTimeout(r, 500));
}
const exited = new Promise((resolve) => child.once("exit", resolve));
child.kill("SIGTERM");
await exited;
fs.rmSync(stateDir, { recursive: true, force: true });
process.stdout.write(`[warm-boot] ${ok ? "ready" : "NOT ready"} after ${Date.now() - started} ms\n`);
process.exit(ok ? 0 : 1);
