import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_CONVOS_CLI, FAKE_CONVOS_NETWORK, processesUnder } from "../../local/supervisor/processes.ts";
import type { LocalPool } from "../../local/system.ts";
import { type Agent, agent, agents, alive, instanceCall, json, serviceOf, startE2eSystem, stopE2eSystem, tick, tickUntil, transcript, waitFor } from "./support.ts";

/**
 * From claim to a live conversation with everything real but the XMTP network: the Worker
 * under Miniflare, the local supervisor, one runtime-container front server per instance
 * (stub gateway, fake convos CLI). Steps run in order and share the pool.
 */
const MIN_IDLE = 3;

let stateDir: string;
let pool: LocalPool;
/** Every process any instance ran, so the end can prove none outlived the system. */
const seen = new Set<number>();
const note = () => {
  for (const pid of pool.processes!.processes()) seen.add(pid);
};

/** A conversation someone made in the app, in the model network every local instance shares. */
let joinConversationId: string;
let joinUrl: string;

type Claim = { instanceId: string; conversationId: string; inviteUrl: string | null; joined: boolean; status: string; agentName: string };
let claims: Claim[] = [];

const idleCount = async () => (await agents(pool, "idle")).length;

beforeAll(async () => {
  ({ pool, stateDir } = await startE2eSystem("pool", MIN_IDLE));
  const invite = JSON.parse(
    execFileSync(FAKE_CONVOS_CLI, ["fake-invite", "--owner-name", "You", "--name", "Friends", "--home", path.join(stateDir, "fake-app-owner")], {
      encoding: "utf8",
      env: { ...process.env, FAKE_CONVOS_LATENCY: "none", FAKE_CONVOS_NETWORK_DIR: path.join(stateDir, "instances", FAKE_CONVOS_NETWORK) },
    }),
  ) as { inviteUrl: string; conversationId: string };
  joinConversationId = invite.conversationId;
  joinUrl = invite.inviteUrl;
});

afterAll(() => stopE2eSystem(pool, stateDir));

describe("the local system end to end", () => {
  it("fills the pool to minIdle with runtime processes that answer their health check", async () => {
    const started = Date.now();
    const idle = await tickUntil(
      pool,
      async () => {
        const rows = await agents(pool, "idle");
        return rows.length >= MIN_IDLE ? rows : null;
      },
      `${MIN_IDLE} idle instances`,
      60_000,
    );
    console.log(`pool filled with ${MIN_IDLE} runtime processes in ${Date.now() - started} ms`);
    expect(idle).toHaveLength(MIN_IDLE);
    for (const a of idle) {
      const svc = serviceOf(pool, a);
      expect(svc.status).toBe("running");
      expect(alive([svc.pid!])).toEqual([svc.pid]);
      expect(svc.variables.INSTANCE_ID).toBe(a.id);
      // The instance itself, not the pool, says it is ready and free.
      const health = await instanceCall(pool, a, "GET", "/pool/health", undefined, null);
      expect(health).toEqual({ status: 200, body: expect.objectContaining({ ready: true, bound: false }) });
    }
    note();
  });

  it("claims three agents in parallel, one by join URL, each bound to its own conversation", async () => {
    const started = Date.now();
    const bodies = [{ agentName: "Alpha" }, { agentName: "Beta", instructions: "Be brief." }, { agentName: "Gamma", joinUrl }];
    const responses = await Promise.all(
      bodies.map(async (body) => {
        const t0 = Date.now();
        const res = await pool.api("/api/pool/claim", { method: "POST", json: body });
        return { status: res.status, body: (await res.json()) as Claim, ms: Date.now() - t0 };
      }),
    );
    console.log(`3 parallel claims answered in ${responses.map((r) => r.ms).join(", ")} ms (all done after ${Date.now() - started} ms)`);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    claims = responses.map((r) => r.body);
    expect(new Set(claims.map((c) => c.instanceId)).size).toBe(3);
    expect(new Set(claims.map((c) => c.conversationId)).size).toBe(3);

    const [alpha, beta, gamma] = claims as [Claim, Claim, Claim];
    for (const created of [alpha, beta]) {
      expect(created).toMatchObject({ status: "created", joined: false });
      expect(created.inviteUrl).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=.{8,}/);
    }
    expect(gamma).toMatchObject({ status: "joined", joined: true, conversationId: joinConversationId, agentName: "Gamma" });

    for (const claim of claims) {
      const row = await agent(pool, claim.instanceId);
      expect(row).toMatchObject({ status: "claimed", conversationId: claim.conversationId });
      // Each instance's own status route agrees with the pool about its conversation.
      const status = await waitFor(async () => {
        const s = await instanceCall(pool, row, "GET", "/convos/status");
        return s.status === 200 && s.body.streaming ? s : null;
      }, `${claim.instanceId} streaming its conversation`);
      expect(status.body).toMatchObject({ conversationId: claim.conversationId, clean: false });
      // …and nobody without the instance's token can ask.
      expect((await instanceCall(pool, row, "GET", "/convos/status", undefined, null)).status).toBe(401);
      expect((await instanceCall(pool, row, "GET", "/pool/health", undefined, null)).body).toMatchObject({ ready: true, bound: true });
    }
    note();
  });

  it("answers a link only the agent's CLI can tell is damaged with a 400 naming it, and keeps the agent for the next claim", async () => {
    const idleBefore = (
      await tickUntil(
        pool,
        async () => {
          const idle = await agents(pool, "idle");
          return idle.length > 0 ? idle : null;
        },
        "an idle instance",
        60_000,
      )
    ).map((a) => a.id);
    // Well formed for the pool (host, path, slug alphabet), but not an invite the CLI can decode.
    const damaged = `https://dev.convos.org/v2?i=${"Zm9vYmFy".repeat(4)}`;
    const res = await pool.api("/api/pool/claim", { method: "POST", json: { agentName: "Delta", joinUrl: damaged } });
    const body = (await res.json()) as { error: { code: string; message: string; details?: unknown } };
    expect(res.status).toBe(400);
    expect(body.error.code).toBe("invalid_join_url");
    // The CLI's own cause reaches the user, without oclif's USAGE block.
    expect(body.error.message).toMatch(/invite link could not be read: .*invalid wire type/);
    expect(body.error.message).not.toMatch(/USAGE/);
    // The agent it reached was never bound: it is idle again, nothing crashed.
    const idleAfter = (await agents(pool, "idle")).map((a) => a.id);
    expect(idleAfter).toEqual(expect.arrayContaining(idleBefore));
    expect(await agents(pool, "crashed")).toEqual([]);
  });

  it("delivers a message sent through /convos/conversation/send to the conversation", async () => {
    const claim = claims[0]!;
    const row = await agent(pool, claim.instanceId);
    const text = `hello from the e2e suite ${randomBytes(4).toString("hex")}`;
    const sent = await instanceCall(pool, row, "POST", "/convos/conversation/send", { message: text });
    expect(sent.status).toBe(200);
    const { stateDir: instanceState } = serviceOf(pool, row);
    const entry = await waitFor(() => transcript(instanceState).find((e) => e.kind === "sent" && e.text === text), "the message in the fake CLI's transcript");
    expect(entry.conversationId).toBe(claim.conversationId);
    // The other instances did not send it.
    for (const other of claims.slice(1)) {
      const otherState = serviceOf(pool, await agent(pool, other.instanceId)).stateDir;
      expect(transcript(otherState).some((e) => e.text === text)).toBe(false);
    }
  });

  it("gets a member's message to the agent, whose answer reaches the conversation", async () => {
    const claim = claims[2]!;
    const row = await agent(pool, claim.instanceId);
    const { stateDir: instanceState } = serviceOf(pool, row);
    const text = `are you there? ${randomBytes(4).toString("hex")}`;
    // A member writes in the conversation (the fake CLI's stand-in for the XMTP network)…
    execFileSync(FAKE_CONVOS_CLI, ["fake-inject", claim.conversationId, "--text", text, "--sender-name", "Maya", "--home", path.join(instanceState, "convos")]);
    // …and the stub gateway's agent answers through the instance's own `agent serve`.
    const reply = await waitFor(() => transcript(instanceState).find((e) => e.kind === "sent" && e.text === `echo: ${text}`), "the agent's answer in the transcript");
    expect(reply.conversationId).toBe(claim.conversationId);
  });

  it("refills the idle pool after the claims", async () => {
    await tickUntil(pool, async () => (await idleCount()) >= MIN_IDLE, `${MIN_IDLE} idle instances again`, 60_000);
    note();
  });

  it("kills an instance through the API: its processes stop and a new one takes its place", async () => {
    const before = await agents(pool, "idle");
    const victim = before[0]!;
    const svc = serviceOf(pool, victim);
    const tree = pool.processes!.processes(svc.id);
    expect(tree.length).toBeGreaterThanOrEqual(2); // front server and its gateway
    tree.forEach((p) => seen.add(p));

    const res = await pool.api(`/api/pool/instances/${victim.id}`, { method: "DELETE" });
    expect(res.status).toBe(202);
    await waitFor(async () => (await agent(pool, victim.id)).status === "deleted", `${victim.id} deleted`);
    await waitFor(() => alive(tree).length === 0, `the processes of ${victim.id} to stop`, 20_000);
    expect(pool.processes!.inspect(svc.id)).toBeUndefined();
    // Its volume goes with it, as a deleted Railway service's does.
    await waitFor(() => !existsSync(svc.stateDir), `the state of ${victim.id} to be removed`, 10_000);

    const replaced = await tickUntil(
      pool,
      async () => {
        const idle = await agents(pool, "idle");
        return idle.length >= MIN_IDLE && idle.some((a) => !before.some((b) => b.id === a.id)) ? idle : null;
      },
      "a replacement idle instance",
      60_000,
    );
    expect(replaced.map((a) => a.id)).not.toContain(victim.id);
    note();
  });

  it("notices a runtime killed by hand: the tick marks it dead, reaps its gateway and replaces it", async () => {
    const before = await agents(pool, "idle");
    const victim = before[0]!;
    const svc = serviceOf(pool, victim);
    const tree = pool.processes!.processes(svc.id);
    tree.forEach((p) => seen.add(p));

    process.kill(svc.pid!, "SIGKILL");
    await waitFor(() => pool.processes!.inspect(svc.id)?.status === "failed", "the supervisor to see the process die");
    // The gateway ran in its own process group and would have outlived its front server.
    await waitFor(() => alive(tree).length === 0, "the rest of the instance's processes to be reaped", 10_000);

    const row = await tickUntil(
      pool,
      async () => {
        const a = await agent(pool, victim.id);
        return ["dead", "deleting", "deleted"].includes(a.status) ? a : null;
      },
      `${victim.id} marked dead`,
    );
    expect(row.events.some((e) => e.to === "dead" && /deployment failed/.test(e.reason ?? ""))).toBe(true);

    await tickUntil(
      pool,
      async () => {
        const idle = await agents(pool, "idle");
        return idle.length >= MIN_IDLE && !idle.some((a) => a.id === victim.id) && (await agent(pool, victim.id)).status === "deleted";
      },
      "the dead instance deleted and replaced",
      60_000,
    );
    expect(pool.processes!.inspect(svc.id)).toBeUndefined();
    note();
  });

  it("shows a claimed instance whose runtime dies as crashed, for its owner to see", async () => {
    const claim = claims[1]!;
    const row = await agent(pool, claim.instanceId);
    const svc = serviceOf(pool, row);
    pool.processes!.processes(svc.id).forEach((p) => seen.add(p));
    process.kill(svc.pid!, "SIGKILL");
    const crashed = await tickUntil(
      pool,
      async () => {
        const a = await agent(pool, claim.instanceId);
        return a.status === "crashed" ? a : null;
      },
      `${claim.instanceId} crashed`,
    );
    // Its conversation is still recorded: the user learns which agent went away.
    expect(crashed.conversationId).toBe(claim.conversationId);
  });

  it("drains the rest: unclaimed instances go, claimed ones only when killed, and no process is left", async () => {
    note();
    // Recent claims keep a replenish buffer above minIdle; maxTotal 0 is what stops creating.
    await json(pool.api("/api/pool/settings", { method: "PUT", json: { minIdle: 0, maxTotal: 0 } }));
    const unclaimed = (await agents(pool)).filter((a) => ["creating", "starting", "idle"].includes(a.status));
    const drained = await json<{ drained: string[] }>(pool.api("/api/pool/drain", { method: "POST", json: { count: 10 } }));
    expect(drained.drained.sort()).toEqual(unclaimed.map((a) => a.id).sort());
    // Draining never takes an agent from its owner.
    for (const c of [claims[0]!, claims[2]!]) expect((await agent(pool, c.instanceId)).status).toBe("claimed");

    for (const a of await agents(pool)) {
      if (a.status === "claimed" || a.status === "crashed") {
        expect((await pool.api(`/api/pool/instances/${a.id}`, { method: "DELETE" })).status).toBe(202);
      }
    }
    await tickUntil(pool, async () => (await agents(pool)).every((a) => a.status === "deleted"), "every instance deleted", 30_000);
    await waitFor(() => pool.processes!.list().length === 0, "the supervisor to hold no service");
    await waitFor(() => pool.processes!.processes().length === 0 && alive(seen).length === 0, "every instance process to stop", 20_000);
    expect(seen.size).toBeGreaterThanOrEqual(2 * 8);
  });

  it("shuts down with no runtime process left behind", async () => {
    // A live pool again, so shutdown has instances to stop.
    await json(pool.api("/api/pool/settings", { method: "PUT", json: { minIdle: 1, maxTotal: 10 } }));
    await tickUntil(pool, async () => (await agents(pool, "idle")).length >= 1, "an idle instance");
    const tree = pool.processes!.processes();
    expect(tree.length).toBeGreaterThanOrEqual(2);
    tree.forEach((p) => seen.add(p));

    await pool.stop();
    expect(alive(seen)).toEqual([]);
    expect(processesUnder(path.join(stateDir, "instances"))).toEqual([]);
    await expect(fetch(`${pool.baseUrl}/healthz`)).rejects.toThrow();
  });
});
