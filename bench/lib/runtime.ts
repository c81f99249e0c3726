import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../local/worker-host.ts";

/**
 * Real runtime instances for the benchmarks: `node runtime-container/src/main.ts` processes on
 * loopback ports, with the fake convos CLI, each in its own temporary state directory.
 */
export const RUNTIME_MAIN = join(ROOT, "runtime-container/src/main.ts");
export const FAKE_CONVOS = join(ROOT, "runtime-container/dev/fake-convos/bin/convos");
export const OPENCLAW_INSTALLED = (() => {
  try {
    readFileSync(join(ROOT, "runtime-container/node_modules/openclaw/package.json"));
    return true;
  } catch {
    return false;
  }
})();

export interface RuntimeProcess {
  id: string;
  port: number;
  url: string;
  token: string;
  child: ChildProcess;
  startedAt: number;
  /** ms from spawn to the first 200 from /pool/health, or NaN when it never came. */
  readyMs: number;
  stateDir: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** PATH with the pinned Node 24 first: the fake CLI's `#!/usr/bin/env node` must get it too. */
function pathWithPinnedNode(): string {
  return [join(ROOT, "node_modules/.bin"), process.env.PATH ?? ""].join(":");
}

export async function startRuntime(opts: { id: string; token: string; gateway: "stub" | "openclaw"; readyTimeoutMs: number; env?: Record<string, string> }): Promise<RuntimeProcess> {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), `bench-rt-${opts.id}-`));
  const startedAt = performance.now();
  const child = spawn(process.execPath, [RUNTIME_MAIN], {
    cwd: ROOT,
    env: {
      PATH: pathWithPinnedNode(),
      HOME: stateDir,
      PORT: String(port),
      GATEWAY_TOKEN: opts.token,
      INSTANCE_ID: opts.id,
      CONVOS_CLI: FAKE_CONVOS,
      STATE_DIR: stateDir,
      XMTP_ENV: "dev",
      OPENCLAW_GATEWAY: opts.gateway,
      OPENCLAW_GATEWAY_PORT: "0",
      STUB_GATEWAY_REPLY: "off",
      // The CLI model's costs: the real CLI's process start (measured) and XMTP round trips.
      FAKE_CONVOS_LATENCY: "real",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  let readyMs = NaN;
  const deadline = startedAt + opts.readyTimeoutMs;
  while (performance.now() < deadline && child.exitCode === null) {
    try {
      const res = await fetch(`${url}/pool/health`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) {
        readyMs = performance.now() - startedAt;
        break;
      }
    } catch {}
    await new Promise((r) => setTimeout(r, 25));
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 12_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  if (Number.isNaN(readyMs)) {
    process.stderr.write(`runtime ${opts.id} (${opts.gateway}) not ready after ${opts.readyTimeoutMs} ms; last output:\n${output}\n`);
  }
  return { id: opts.id, port, url, token: opts.token, child, startedAt, readyMs, stateDir, stop };
}

/** Resident memory (KiB) of a process and, separately, of all its descendants (Linux /proc). */
export function rssKiB(pid: number): { self: number; descendants: number } {
  const read = (p: number) => {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  };
  const children = (p: number): number[] => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  let descendants = 0;
  const stack = children(pid);
  while (stack.length) {
    const p = stack.pop()!;
    descendants += read(p);
    stack.push(...children(p));
  }
  return { self: read(pid), descendants };
}
