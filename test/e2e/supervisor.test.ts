import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_CONVOS_CLI, ProcessSupervisor, processesUnder } from "../../local/supervisor/processes.ts";
import { serveSupervisor, type SupervisorServer } from "../../local/supervisor/server.ts";
import type { LocalService } from "../../local/supervisor/protocol.ts";
import { alive, waitFor } from "./support.ts";

/**
 * The supervisor as the Worker's `local` provider sees it (protocol.ts over HTTP), with real
 * runtime-container processes behind it.
 */
const TOKEN = "supervisor-suite-token-0123456789";
let dir: string;
let supervisor: ProcessSupervisor;
let server: SupervisorServer;
const others: ProcessSupervisor[] = [];

async function call(method: string, route: string, body?: unknown, token: string | null = TOKEN) {
  const res = await fetch(`${server.url}${route}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const services = async () => (await call("GET", "/services")).body.services as LocalService[];
const running = (id: string) => waitFor(async () => (await services()).find((s) => s.id === id && s.status === "running"), `${id} running`, 30_000);

function createBody(name: string, gatewayToken = `gw-${name}-0123456789`) {
  return { name, instanceId: name, variables: { INSTANCE_ID: name, GATEWAY_TOKEN: gatewayToken, XMTP_ENV: "dev", POOL_URL: "http://127.0.0.1:9" } };
}

const saved = { CONVOS_CLI: process.env.CONVOS_CLI, OPENROUTER_API_KEY: process.env.OPENROUTER_API_KEY };

beforeAll(async () => {
  // Instances inherit this process's environment: start from one without a CLI or model key.
  delete process.env.CONVOS_CLI;
  delete process.env.OPENROUTER_API_KEY;
  dir = mkdtempSync(path.join(os.tmpdir(), "supervisor-e2e-"));
  supervisor = new ProcessSupervisor({ stateRoot: path.join(dir, "instances"), env: { OPENCLAW_GATEWAY: "stub" } });
  server = await serveSupervisor(supervisor, { token: TOKEN });
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  await server?.close();
  await supervisor?.stopAll();
  for (const s of others) await s.stopAll();
  if (dir) {
    for (const pid of processesUnder(path.join(dir, "instances"))) process.kill(pid, "SIGKILL");
    for (const pid of processesUnder(path.join(dir, "other"))) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("local supervisor", () => {
  it("answers only callers with its token, and listens on loopback only", async () => {
    expect((await call("GET", "/services", undefined, null)).status).toBe(401);
    expect((await call("POST", "/services", createBody("convos-agent-intruder"), "wrong-token")).status).toBe(401);
    expect(await services()).toEqual([]);
    expect(new URL(server.url).hostname).toBe("127.0.0.1");
  });

  it("runs a service as a runtime process with its variables, its own port and its own state", async () => {
    const created = await call("POST", "/services", createBody("convos-agent-one", "gw-one-secret-0123456789"));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "convos-agent-one", status: "starting", url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    const svc = await running(created.body.id);

    // The instance answers on its URL, and the token it was given is the one it checks.
    const health = await waitFor(
      async () => {
        const res = await fetch(`${svc.url}/pool/health`);
        return res.status === 200 ? res.json() : null;
      },
      "the instance ready",
      30_000,
    );
    expect(health).toMatchObject({ ready: true, bound: false });
    const ok = await fetch(`${svc.url}/convos/status`, { headers: { authorization: "Bearer gw-one-secret-0123456789" } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ conversationId: null, clean: true });
    expect((await fetch(`${svc.url}/convos/status`, { headers: { authorization: "Bearer gw-other" } })).status).toBe(401);

    const details = supervisor.inspect(svc.id)!;
    expect(details.stateDir).toBe(path.join(dir, "instances", svc.id, "state"));
    expect(existsSync(path.join(details.stateDir, "openclaw", "openclaw.json"))).toBe(true);
    // Without CONVOS_CLI the instance talks to the fake CLI, never to the XMTP network.
    expect(readFileSync(details.logFile, "utf8")).toContain(`convos CLI: ${FAKE_CONVOS_CLI}`);
  });

  it("redeploys a service on another image (its runtime version) with its state directory, as an upgrade does", async () => {
    const created = await call("POST", "/services", { ...createBody("convos-agent-up"), image: "v1" });
    expect(created.status).toBe(201);
    const svc = await running(created.body.id);
    const version = (want: string) =>
      waitFor(
        async () => {
          const res = await fetch(`${svc.url}/pool/health`).catch(() => null);
          const body = res?.status === 200 ? ((await res.json()) as { version?: string }) : null;
          return body?.version === want ? body : null;
        },
        `the instance reporting ${want}`,
        30_000,
      );
    await version("v1");
    const stateDir = supervisor.inspect(svc.id)!.stateDir;
    const marker = path.join(stateDir, "identity-marker");
    writeFileSync(marker, "still here");

    expect((await call("POST", `/services/${svc.id}/redeploy`, { image: "../../bin/sh" })).status).toBe(400);
    const redeployed = await call("POST", `/services/${svc.id}/redeploy`, { image: "v2" });
    expect(redeployed.status).toBe(200);
    expect(redeployed.body).toMatchObject({ id: svc.id, url: svc.url });
    await running(svc.id);
    expect(await version("v2")).toMatchObject({ ready: true, version: "v2" });
    // Same service, same volume: what the instance wrote before the upgrade is there after it.
    expect(supervisor.inspect(svc.id)!.stateDir).toBe(stateDir);
    expect(readFileSync(marker, "utf8")).toBe("still here");
    expect((await call("POST", "/services/svc-000000000000/redeploy", { image: "v2" })).status).toBe(404);
    expect((await call("DELETE", `/services/${svc.id}`)).status).toBe(204);
  });

  it("refuses a second service with the same name and malformed requests", async () => {
    expect((await call("POST", "/services", createBody("convos-agent-one"))).status).toBe(409);
    expect((await call("POST", "/services", "{not json")).status).toBe(400);
    expect((await call("POST", "/services", { name: "x", instanceId: "x", variables: { PORT: 1 } })).status).toBe(400);
    expect((await services()).filter((s) => s.name === "convos-agent-one")).toHaveLength(1);
  });

  it("hands instances the convos CLI and model key of the environment it runs in", async () => {
    const cli = path.join(dir, "my-convos");
    symlinkSync(FAKE_CONVOS_CLI, cli);
    process.env.CONVOS_CLI = cli;
    process.env.OPENROUTER_API_KEY = "sk-or-v1-local-test";
    let id: string;
    try {
      id = (await call("POST", "/services", createBody("convos-agent-cli"))).body.id;
    } finally {
      delete process.env.CONVOS_CLI;
      delete process.env.OPENROUTER_API_KEY;
    }
    await running(id);
    const log = await waitFor(() => {
      const text = readFileSync(supervisor.inspect(id)!.logFile, "utf8");
      return text.includes("not configured") ? text : null;
    }, "the runtime's startup report");
    expect(log).toContain(`convos CLI: ${cli}`);
    expect(log).toMatch(/not configured \(their skills will say so\): (?!.*openrouter)/);
    // The first instance started without a key, and says so.
    expect(readFileSync(supervisor.inspect((await services()).find((s) => s.name === "convos-agent-one")!.id)!.logFile, "utf8")).toMatch(/not configured.*openrouter/);
    expect((await call("DELETE", `/services/${id}`)).status).toBe(204);
  });

  it("reports a service whose process died as failed and ends the rest of its tree", async () => {
    const id = (await call("POST", "/services", createBody("convos-agent-doomed"))).body.id as string;
    await running(id);
    // Wait for the gateway too, the process that would outlive its front server.
    const tree = await waitFor(() => {
      const pids = supervisor.processes(id);
      return pids.length >= 2 ? pids : null;
    }, "front server and gateway");
    process.kill(supervisor.inspect(id)!.pid!, "SIGKILL");
    await waitFor(async () => (await services()).find((s) => s.id === id)?.status === "failed", "status failed");
    await waitFor(() => alive(tree).length === 0, "the gateway reaped", 10_000);
    // It stays listed, failed, until the pool deletes it: that is how the tick learns of it.
    expect((await call("DELETE", `/services/${id}`)).status).toBe(204);
  });

  it("deletes a service: its processes stop, its state goes, and it is unknown afterwards", async () => {
    const id = (await call("POST", "/services", createBody("convos-agent-two"))).body.id as string;
    await running(id);
    const tree = await waitFor(() => {
      const pids = supervisor.processes(id);
      return pids.length >= 2 ? pids : null;
    }, "front server and gateway");
    const stateDir = supervisor.inspect(id)!.stateDir;
    expect((await call("DELETE", `/services/${id}`)).status).toBe(204);
    expect((await services()).some((s) => s.id === id)).toBe(false);
    await waitFor(() => alive(tree).length === 0 && !existsSync(stateDir), "its processes and state gone", 20_000);
    expect((await call("DELETE", `/services/${id}`)).status).toBe(404);
  });

  it("a supervisor started after one that was killed outright ends the killed one's instances", async () => {
    const root = path.join(dir, "other");
    const crashed = new ProcessSupervisor({ stateRoot: root, env: { OPENCLAW_GATEWAY: "stub" } });
    others.push(crashed);
    const svc = await crashed.create(createBody("convos-agent-left"));
    const tree = await waitFor(
      () => {
        const pids = crashed.processes(svc.id);
        return pids.length >= 2 ? pids : null;
      },
      "front server and gateway",
      30_000,
    );
    // As if its process had been SIGKILLed: nothing stopped the instance, which runs on.
    expect(alive(tree)).toEqual(tree);
    const next = new ProcessSupervisor({ stateRoot: root });
    others.push(next);
    await waitFor(() => alive(tree).length === 0, "the leftovers ended", 10_000);
    expect(existsSync(path.join(root, svc.id))).toBe(false);
  });

  it("stops every instance when it stops, and takes no new ones", async () => {
    const ids = await Promise.all(["convos-agent-a", "convos-agent-b"].map(async (n) => (await call("POST", "/services", createBody(n))).body.id as string));
    await Promise.all(ids.map(running));
    const pids = supervisor.processes();
    expect(pids.length).toBeGreaterThanOrEqual(3);
    await supervisor.stopAll();
    expect(alive(pids)).toEqual([]);
    expect(processesUnder(path.join(dir, "instances"))).toEqual([]);
    expect((await call("POST", "/services", createBody("convos-agent-late"))).status).toBe(503);
  });
});
