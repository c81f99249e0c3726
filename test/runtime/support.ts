// Shared helpers for the runtime suites: paths, free ports, temp dirs, the fake convos CLI,
// and a handle on a spawned `node runtime-container/src/main.ts`.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../local/supervisor/processes.ts";
import { DEFAULT_CHROME_PATH } from "../../runtime-container/src/env.ts";
import { waitFor } from "../support/wait.ts";

export { freePort, waitFor };

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const RUNTIME_DIR = path.join(REPO_ROOT, "runtime-container");
export const FAKE_CONVOS = path.join(RUNTIME_DIR, "dev", "fake-convos", "bin", "convos");
export const CLI_SCHEMA = path.join(REPO_ROOT, "test", "runtime", "fixtures", "convos-cli-schema-0.10.15.json");
/** The browser a runtime launches by default; it reports the `browser` capability only where this exists. */
export const IMAGE_CHROMIUM = DEFAULT_CHROME_PATH;
export const BROWSER_CAPABILITY: string[] = fs.existsSync(IMAGE_CHROMIUM) ? ["browser"] : [];
export const OPENCLAW_INSTALLED = fs.existsSync(path.join(RUNTIME_DIR, "node_modules", "openclaw", "openclaw.mjs"));

/** The runtime needs Node 24 (type stripping, openclaw); the repo pins it as a devDependency. */
export function node24(): string {
  if (Number(process.versions.node.split(".")[0]) >= 24) return process.execPath;
  const pinned = path.join(REPO_ROOT, "node_modules", "node", "bin", "node");
  if (fs.existsSync(pinned)) return pinned;
  throw new Error("Node 24 not found: run npm install at the repo root (devDependency node@24)");
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

/** Runs the fake convos CLI the way a person would from a shell (without its real-time costs). */
export function fakeConvos(home: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(FAKE_CONVOS, [...args, "--home", home], { encoding: "utf8", env: { ...process.env, FAKE_CONVOS_LATENCY: "none", ...env } });
}

/**
 * An app owner's conversation and its real, signed invite (fake-invite), in the network of the
 * install at `home`: what a person would paste into the pool's join form.
 */
export function fakeInvite(home: string, opts: { name?: string; ownerName?: string } = {}): { inviteUrl: string; conversationId: string; ownerInboxId: string } {
  const args = ["fake-invite", ...(opts.name ? ["--name", opts.name] : []), ...(opts.ownerName ? ["--owner-name", opts.ownerName] : [])];
  return JSON.parse(fakeConvos(home, args));
}

export type TranscriptEntry = {
  kind: string;
  conversationId?: string;
  text?: string;
  emoji?: string;
  messageId?: string;
  action?: string;
  command?: string;
  flags?: Record<string, unknown>;
  args?: string[];
  name?: string;
};

export function readTranscript(home: string): TranscriptEntry[] {
  const file = path.join(home, "fake-transcript.ndjson");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TranscriptEntry);
}

/** Process ids whose parent chain leads to `pid` (the supervised tree), from `ps`. */
export function descendants(pid: number): number[] {
  const rows = execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.trim().split(/\s+/u).map(Number))
    .filter((r) => r.length === 2 && !Number.isNaN(r[0]));
  const children = new Map<number, number[]>();
  for (const [child, parent] of rows) children.set(parent!, [...(children.get(parent!) ?? []), child!]);
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export type RuntimeHandle = {
  child: ChildProcess;
  port: number;
  url: string;
  token: string;
  stateDir: string;
  convosHome: string;
  output: () => string;
  health: () => Promise<{ status: number; body: Record<string, unknown> }>;
  waitReady: (timeoutMs?: number) => Promise<number>;
  call: (method: string, path: string, body?: unknown, token?: string | null) => Promise<{ status: number; body: any }>;
  stop: () => Promise<number | null>;
};

export async function startRuntime(opts: { env?: NodeJS.ProcessEnv; gateway?: "stub" | "openclaw"; stateDir?: string; cwd?: string; args?: string[] } = {}): Promise<RuntimeHandle> {
  const port = await freePort();
  const stateDir = opts.stateDir ?? tempDir("runtime-state");
  const token = "test-gateway-token-0123456789";
  let output = "";
  // The runtime must behave as in production: vitest's own markers (VITEST*, NODE_ENV=test)
  // change how OpenClaw logs and runs, so they do not leak into the instance.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => !k.startsWith("VITEST") && !(k === "NODE_ENV" && v === "test")));
  const child = spawn(node24(), opts.args ?? [path.join(RUNTIME_DIR, "src", "main.ts")], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: {
      ...inherited,
      STATE_DIR: stateDir,
      GATEWAY_TOKEN: token,
      OPENCLAW_GATEWAY: opts.gateway ?? "stub",
      OPENCLAW_GATEWAY_PORT: "0",
      CONVOS_CLI: FAKE_CONVOS,
      FAKE_CONVOS_SCHEMA: CLI_SCHEMA,
      XMTP_ENV: "dev",
      GATEWAY_RESTART_BACKOFF_MS: "200",
      CONVOS_SERVE_BACKOFF_MS: "100",
      // Tests that are not about timing skip the real CLI's process costs (the model's default).
      FAKE_CONVOS_LATENCY: "none",
      ...opts.env,
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const call = async (method: string, p: string, body?: unknown, tok: string | null = token) => {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: { ...(tok ? { authorization: `Bearer ${tok}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // leave as text
    }
    return { status: res.status, body: parsed as any };
  };
  const handle: RuntimeHandle = {
    child,
    port,
    url,
    token,
    stateDir,
    convosHome: path.join(stateDir, "convos"),
    output: () => output,
    health: async () => {
      const r = await call("GET", "/pool/health", undefined, null);
      return { status: r.status, body: r.body };
    },
    waitReady: async (timeoutMs = 45_000) => {
      const started = Date.now();
      await waitFor(
        async () => (await handle.health()).status === 200,
        () => `runtime ready\n${output.slice(-3000)}`,
        timeoutMs,
        100,
      );
      return Date.now() - started;
    },
    call,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return handle;
}

/** A WebSocket client that works on every Node the tests may run under (ws from the runtime package). */
export function openWebSocket(url: string, headers: Record<string, string> = {}): import("node:events").EventEmitter & { send: (d: string) => void; close: () => void } {
  const require = createRequire(path.join(RUNTIME_DIR, "package.json"));
  const WebSocketClient = require("ws") as new (url: string, opts: { headers: Record<string, string> }) => never;
  return new WebSocketClient(url, { headers });
}

export type PoolCall = { path: string; auth: string | undefined; body: string };

/** The pool's self-destruct endpoint, as an instance sees it: records each call, answers 202. */
export async function startFakePool(): Promise<{ url: string; calls: PoolCall[]; close: () => Promise<void> }> {
  const calls: PoolCall[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      calls.push({ path: req.url ?? "", auth: req.headers.authorization, body });
      res.writeHead(202, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, calls, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
