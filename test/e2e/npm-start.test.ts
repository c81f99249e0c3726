import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, node24, processesUnder, ROOT } from "../../local/supervisor/processes.ts";
import { alive, json, SECRETS, waitFor } from "./support.ts";

/**
 * `npm start` as a person runs it (`node local/start.ts`, what the script runs): the banner,
 * a claim with curl's request, Ctrl-C, and what happens when it is killed outright instead.
 */
let dir: string;
let stateDir: string;
let port: number;
let base: string;
const launched: ChildProcess[] = [];
const seen = new Set<number>();

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function launch(): Promise<Run> {
  let output = "";
  const child = spawn(node24(), [path.join(ROOT, "local", "start.ts")], {
    cwd: ROOT,
    // Its own process group: the test can then kill it with its workerd, like a closed terminal.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      PORT: String(port),
      SUPERVISOR_PORT: String(await freePort()),
      POOL_STATE_DIR: stateDir,
      POOL_DEV_VARS: path.join(dir, "dev.vars"),
      POOL_GATEWAY: "stub",
      // Whatever the developer's shell has: the fake CLI, no model key.
      CONVOS_CLI: "",
      OPENROUTER_API_KEY: "",
    },
  });
  launched.push(child);
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  await waitFor(() => output.includes("Ctrl-C stops everything."), "the banner", 60_000, 100).catch((err) => {
    throw new Error(`${(err as Error).message}\n--- output ---\n${output}`);
  });
  return { child, output: () => output, exited };
}

const api = (route: string, init: RequestInit & { json?: unknown } = {}) =>
  fetch(`${base}${route}`, {
    ...init,
    headers: { authorization: `Bearer ${SECRETS.POOL_API_KEY}`, ...(init.json === undefined ? {} : { "content-type": "application/json" }) },
    body: init.json === undefined ? init.body : JSON.stringify(init.json),
  });

async function counts(): Promise<Record<string, number>> {
  await json(api("/api/pool/reconcile", { method: "POST", json: {} }));
  return await json<Record<string, number>>(fetch(`${base}/api/pool/counts`));
}

/** `node local/instance.ts …` against this run's state. */
const instanceTool = (...args: string[]) =>
  execFileSync(node24(), [path.join(ROOT, "local", "instance.ts"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, POOL_STATE_DIR: stateDir } });

const instanceProcesses = () => processesUnder(path.join(stateDir, "instances"));

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "npm-start-e2e-"));
  stateDir = path.join(dir, "local");
  writeFileSync(
    path.join(dir, "dev.vars"),
    Object.entries(SECRETS)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n") + "\n",
  );
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  for (const child of launched) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  if (stateDir) for (const pid of instanceProcesses()) process.kill(pid, "SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm start", () => {
  let first: Run;

  it("prints where the admin is and the key, fills the pool, and a curl claim gets an invite URL", async () => {
    first = await launch();
    expect(first.output()).toContain(`Admin    ${base}/admin`);
    expect(first.output()).toContain(`Key      ${SECRETS.POOL_API_KEY}`);

    await waitFor(async () => (await counts()).idle! >= 3, "three idle instances", 60_000, 500);
    const res = await api("/api/pool/claim", { method: "POST", json: { agentName: "Tester" } });
    expect(res.status).toBe(200);
    const claim = (await res.json()) as { instanceId: string; conversationId: string };
    expect(claim).toMatchObject({ status: "created", agentName: "Tester", inviteUrl: expect.stringMatching(/^https:\/\/dev\.convos\.org\/v2\?i=/) });

    // What the README tells a newcomer to try next: talk to the agent's instance.
    const status = await waitFor(() => {
      const s = JSON.parse(instanceTool("status", claim.instanceId).replace(/^200 /, ""));
      return s.streaming ? s : null;
    }, "the instance streaming its conversation");
    expect(status).toMatchObject({ conversationId: claim.conversationId });
    expect(instanceTool("send", claim.instanceId, "hello from npm start")).toMatch(/^200 /);
    expect(instanceTool("transcript", claim.instanceId)).toMatch(/sent\s+hello from npm start/);
    for (const pid of instanceProcesses()) seen.add(pid);
    expect(seen.size).toBeGreaterThanOrEqual(6);
  });

  it("killed outright, it leaves its instances running; the next start ends them", async () => {
    // Wait out creates in flight: a create cut in half stays `creating` until its deadline.
    await waitFor(
      async () => {
        const c = await counts();
        return c.creating === 0 && c.starting === 0 && c.idle! >= 3;
      },
      "the pool settled",
      60_000,
      500,
    );
    for (const pid of instanceProcesses()) seen.add(pid);
    // The instances' long-lived processes (front server, gateway, agent serve): an instance
    // also runs one-shot convos commands that end by themselves, so take what lives across
    // two looks a few seconds apart.
    const early = instanceProcesses();
    await new Promise((r) => setTimeout(r, 3000));
    const orphans = instanceProcesses().filter((pid) => early.includes(pid));
    process.kill(-first.child.pid!, "SIGKILL");
    await first.exited;
    // Nothing could stop them: instances run in their own process groups, like containers.
    expect(alive(orphans)).toEqual(orphans);

    const second = await launch();
    expect(alive(orphans)).toEqual([]);

    // The claimed agent's runtime is gone with the old run: the pool says so and refills.
    await waitFor(
      async () => {
        const c = await counts();
        return c.crashed === 1 && c.idle! >= 3 ? c : null;
      },
      "the claimed instance crashed and the pool refilled",
      60_000,
      500,
    );
    for (const pid of instanceProcesses()) seen.add(pid);

    // Ctrl-C reaches the whole foreground group (workerd too); instances stop gracefully, exit 0.
    process.kill(-second.child.pid!, "SIGINT");
    const exit = await Promise.race([second.exited, new Promise<null>((r) => setTimeout(() => r(null), 45_000))]);
    expect(exit, second.output()).toEqual({ code: 0, signal: null });
    expect(second.output()).toContain("Stopped; no instance is left running.");
    expect(alive(seen)).toEqual([]);
    expect(instanceProcesses()).toEqual([]);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
