// The convos plugin inside a real `openclaw gateway run` (booted once for this file), driven
// by the CLI model the way the real convos CLI behaves: the gateway must survive the CLI's
// error lines and failed commands, answer each command with its own result, notice a stream
// that went quiet, deliver what was sent while serve was down exactly once, report the
// rotated invite, wipe itself when the owner explodes the chat, and be handed out only with
// its XMTP identity registered.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeModel } from "./fake-model.ts";
import { OPENCLAW_INSTALLED, RUNTIME_DIR, alive, descendants, fakeConvos, readTranscript, startFakePool, startRuntime, waitFor, type RuntimeHandle } from "./support.ts";

const ANSWER = "Noted, see you at the market.";

describe("the convos plugin in a real OpenClaw gateway, against the real CLI's behaviour", () => {
  let r: RuntimeHandle;
  let conversationId: string;
  let gatewayPid: number | undefined;
  const model = fakeModel(ANSWER);
  let pool: Awaited<ReturnType<typeof startFakePool>>;
  const status = async () => (await r.call("GET", "/convos/status")).body;
  const control = (switches: Record<string, unknown>) => fs.writeFileSync(path.join(r.convosHome, "fake-control.json"), JSON.stringify(switches));
  const answers = () => readTranscript(r.convosHome).filter((e) => e.kind === "sent" && e.text === ANSWER).length;
  /** Model calls made since a message arrived (each carries it in the conversation). */
  const callsWith = (text: string) => model.requests.filter((req) => JSON.stringify(req.messages).includes(text)).length;

  beforeAll(async () => {
    if (!OPENCLAW_INSTALLED) throw new Error("openclaw is not installed in runtime-container/node_modules: run `npm install` at the repo root");
    await new Promise<void>((resolve) => model.server.listen(0, "127.0.0.1", resolve));
    pool = await startFakePool();
    const modelUrl = `http://127.0.0.1:${(model.server.address() as { port: number }).port}/v1`;
    r = await startRuntime({
      gateway: "openclaw",
      env: {
        OPENROUTER_API_KEY: "",
        OPENCLAW_DEV_MODEL_URL: modelUrl,
        POOL_URL: pool.url,
        INSTANCE_ID: "inst-cli",
        // A two-second heartbeat: a stalled stream is noticed in six.
        CONVOS_HEARTBEAT_SECONDS: "2",
        // The real CLI's process costs, as the gateway meets them in production.
        FAKE_CONVOS_LATENCY: "real",
      },
    });
    await r.waitReady(240_000);
    gatewayPid = descendants(r.child.pid!).find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("openclaw"));
  }, 250_000);

  afterAll(async () => {
    model.server.close();
    await pool?.close();
    const tree = r ? descendants(r.child.pid!) : [];
    expect(await r?.stop()).toBe(0);
    await waitFor(() => tree.every((pid) => !alive(pid)), "gateway process tree to exit", 15_000);
  }, 40_000);

  it("is handed out only with its XMTP identity registered", async () => {
    expect((await r.health()).body).toMatchObject({ ready: true, bound: false });
    expect((await status()).identity).toMatchObject({ state: "registered", inboxId: expect.stringMatching(/^[0-9a-f]{64}$/u), error: null });
  });

  it("answers a malformed invite with 400 invalid_invite naming the problem, and stays clean", async () => {
    const res = await r.call("POST", "/pool/provision", { agentName: "Ava", joinUrl: "https://dev.convos.org/v2?i=garbage-slug" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_invite");
    expect(res.body.error.message).toMatch(/^the invite cannot be used: \S/u);
    expect(res.body.error.message).not.toMatch(/USAGE|›/u);
    expect(await status()).toMatchObject({ clean: true, conversationId: null });
  });

  it("creates on the claim with the identity it registered while idle", async () => {
    const { inboxId } = (await status()).identity;
    const res = await r.call("POST", "/pool/provision", { agentName: "Ava", instructions: "Help the group." });
    expect(res.status).toBe(200);
    conversationId = res.body.conversationId;
    await waitFor(async () => (await status()).streaming, "conversation stream");
    expect((await status()).inboxId).toBe(inboxId);
  });

  it("survives error lines: counted, shown in status, the gateway stays up", async () => {
    const before = (await status()).errorCount;
    fakeConvos(r.convosHome, ["fake-inject", conversationId, "--event", "error", "--text", "DM stream ended: reset by peer"]);
    await waitFor(async () => (await status()).errorCount === before + 1, "error counted");
    expect(await status()).toMatchObject({ streaming: true, lastError: { message: "DM stream ended: reset by peer", source: "serve" } });
    expect(alive(gatewayPid!)).toBe(true);
    expect((await r.health()).status).toBe(200);
  });

  it("answers three concurrent sends with three different ids", async () => {
    const sends = await Promise.all(["a", "b", "c"].map((m) => r.call("POST", "/convos/conversation/send", { message: `concurrent ${m}` })));
    expect(sends.map((s) => s.status)).toEqual([200, 200, 200]);
    const ids = sends.map((s) => s.body.messageId);
    expect(new Set(ids).size).toBe(3);
    const sent = readTranscript(r.convosHome).filter((e) => e.kind === "sent") as Array<{ text?: string; id?: string }>;
    expect(ids).toEqual(["a", "b", "c"].map((m) => sent.find((e) => e.text === `concurrent ${m}`)?.id));
  });

  it("fails a command the CLI refuses with a clear 502, and recovers", async () => {
    control({ FAKE_CONVOS_NETWORK_DOWN: "1" });
    const res = await r.call("POST", "/convos/conversation/send", { message: "offline?" });
    expect(res.status).toBe(502);
    expect(res.body.error).toMatchObject({ code: "stream_command_failed", message: expect.stringMatching(/^send failed: Command failed: \S/u) });
    expect(alive(gatewayPid!)).toBe(true);
    control({});
    await waitFor(async () => (await r.call("POST", "/convos/conversation/send", { message: "back online" })).status === 200, "send works again", 30_000, 500);
  });

  it("reports the rotated invite after lock and unlock", async () => {
    const { parseInvite } = await import(pathToFileURL(path.join(RUNTIME_DIR, "node_modules/@xmtp/convos-cli/dist/utils/invite.js")).href);
    const tag = (url: string) => parseInvite(url).tag as string;
    const before = (await status()).inviteUrl;
    const locked = await r.call("POST", "/convos/lock", {});
    expect(locked.status).toBe(200);
    expect(tag(locked.body.inviteUrl)).not.toBe(tag(before));
    const unlocked = await r.call("POST", "/convos/lock", { unlock: true });
    expect(tag(unlocked.body.inviteUrl)).not.toBe(tag(locked.body.inviteUrl));
    const current = JSON.parse(fakeConvos(r.convosHome, ["conversation", "invite", conversationId, "--json"])).tag;
    expect(tag((await status()).inviteUrl)).toBe(current);
  });

  it("notices a stream whose heartbeats stopped, and restarts it", async () => {
    const restarts = (await status()).serveRestarts;
    fakeConvos(r.convosHome, ["fake-inject", conversationId, "--event", "heartbeat-stall"]);
    await waitFor(async () => !(await status()).streaming, "stall noticed", 20_000, 200);
    await waitFor(async () => (await status()).streaming, "serve restarted", 30_000);
    expect((await status()).serveRestarts).toBe(restarts + 1);
  }, 60_000);

  it("delivers a message sent while serve was down to the agent once, and the agent answers once", async () => {
    const answered = answers();
    control({ FAKE_CONVOS_SLOW_START_MS: 4000 });
    fakeConvos(r.convosHome, ["fake-inject", conversationId, "--event", "crash"]);
    await waitFor(async () => !(await status()).streaming, "serve down");
    fakeConvos(r.convosHome, ["fake-inject", conversationId, "--text", "Ava, shall we meet at the market?", "--sender-name", "Maya", "--id", "missed-1"]);
    control({});
    await waitFor(
      () => answers() > answered,
      () => `the agent's answer\n${r.output().slice(-3000)}`,
      120_000,
      250,
    );
    // The first heartbeat's catch-up runs too: nothing comes twice.
    await waitFor(async () => (await status()).lastHeartbeatAt, "heartbeat after restart");
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // (The channel may offer it to OpenClaw again when OpenClaw was busy; the agent still runs once.)
    expect(callsWith("shall we meet at the market?")).toBe(1);
    expect(answers()).toBe(answered + 1);
  }, 150_000);

  it("wipes itself and asks the pool to destroy it when the chat is exploded from the app", async () => {
    const workspace = path.join(r.stateDir, "workspace");
    expect(fs.readdirSync(workspace).length).toBeGreaterThan(0);
    fakeConvos(r.convosHome, ["fake-inject", conversationId, "--event", "explode", "--sender-name", "Maya"]);
    await waitFor(() => pool.calls.length > 0, "self-destruct request", 30_000);
    expect(pool.calls.map((c) => c.path)).toEqual(["/api/pool/instances/inst-cli/self-destruct"]);
    expect(await status()).toMatchObject({ exploded: true, conversationId: null, streaming: false, clean: false });
    expect(fs.readdirSync(workspace)).toEqual([]);
    expect(fs.existsSync(path.join(r.convosHome, "identity.json"))).toBe(false);
    expect(alive(gatewayPid!)).toBe(true);
    expect((await r.health()).body).toMatchObject({ ready: true, bound: true });
  });
});
