// The front server as the pool sees it: `node runtime-container/src/main.ts` on $PORT, with
// the stand-in gateway (the real OpenClaw gateway has its own suite) and the fake CLI.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { alive, descendants, fakeConvos, fakeInvite, openWebSocket, readTranscript, startRuntime, tempDir, waitFor, type RuntimeHandle } from "./support.ts";

const running: RuntimeHandle[] = [];
async function runtime(opts: Parameters<typeof startRuntime>[0] = {}) {
  const r = await startRuntime(opts);
  running.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

describe("health", () => {
  it("says 503 with a reason while the gateway starts, then 200 with version, bound and capabilities", async () => {
    // No provider credentials, no OpenRouter key and no browser binary: of the image's
    // capabilities only the scheduler and the file tools are there.
    const r = await runtime({
      env: { STUB_GATEWAY_START_DELAY_MS: "1500", AGENTMAIL_API_KEY: "", TELNYX_API_KEY: "", BANKR_API_KEY: "", OPENROUTER_API_KEY: "", CHROME_PATH: "/nonexistent/chromium" },
    });
    await waitFor(async () => (await r.health()).status === 503, "front server up");
    const early = await r.health();
    expect(early.body).toMatchObject({ ready: false });
    expect(String(early.body.reason)).toMatch(/gateway/u);
    await r.waitReady();
    expect((await r.health()).body).toEqual({ ready: true, version: "0.1.0", bound: false, capabilities: ["files", "scheduling"] });
  });

  it("has no side effects: polling health never creates or touches a conversation", async () => {
    const r = await runtime();
    await r.waitReady();
    const before = readTranscript(r.convosHome).length;
    for (let i = 0; i < 20; i++) await r.health();
    expect(readTranscript(r.convosHome).length).toBe(before);
    // The only CLI work of an idle instance is getting its identity ready.
    expect(
      readTranscript(r.convosHome)
        .filter((e) => e.kind === "command")
        .map((e) => e.command),
    ).toEqual(["identity:create", "identity:info"]);
  });

  it("is ready only once the XMTP identity is registered, and says why until then", async () => {
    const stateDir = tempDir("runtime-state");
    fs.mkdirSync(path.join(stateDir, "convos"), { recursive: true });
    const control = path.join(stateDir, "convos", "fake-control.json");
    fs.writeFileSync(control, JSON.stringify({ FAKE_CONVOS_NETWORK_DOWN: "1" }));
    const r = await runtime({ stateDir, env: { CONVOS_REGISTER_BACKOFF_MS: "200" } });
    await waitFor(
      async () => /XMTP identity registration failed \(attempt \d+\): .*transport error.*; retrying at /u.test(String((await r.health()).body.reason)),
      () => `health to report the failed registration\n${r.output().slice(-3000)}`,
      30_000,
    );
    expect((await r.call("POST", "/pool/provision", { agentName: "Ava" })).status).toBe(503);
    fs.rmSync(control);
    await r.waitReady(30_000);
    const status = (await r.call("GET", "/convos/status")).body;
    expect(status.identity).toMatchObject({ state: "registered", inboxId: expect.stringMatching(/^[0-9a-f]{64}$/u), error: null });
    // The claim reuses that inbox: nothing is registered on the claim's clock.
    const res = await r.call("POST", "/pool/provision", { agentName: "Ava" });
    expect(res.status).toBe(200);
    expect((await r.call("GET", "/convos/status")).body.inboxId).toBe(status.identity.inboxId);
  });
});

describe("provision", () => {
  it("creates the conversation, writes the instructions and returns the invite", async () => {
    const r = await runtime();
    await r.waitReady();
    const res = await r.call("POST", "/pool/provision", { agentName: "Ava", instructions: "You plan our Lisbon trip.", metadata: { plan: "pro" } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "created", joined: false });
    expect(res.body.conversationId).toMatch(/^[0-9a-f]{32}$/u);
    expect(res.body.inviteUrl).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/u);
    expect(fs.readFileSync(path.join(r.stateDir, "workspace", "INSTRUCTIONS.md"), "utf8")).toBe("You plan our Lisbon trip.\n");
    const created = readTranscript(r.convosHome).find((e) => e.kind === "command" && e.command === "conversations:create");
    expect(created?.flags).toMatchObject({ name: "Ava", "profile-name": "Ava", metadata: ["plan=pro"] });
    expect((await r.health()).body).toMatchObject({ ready: true, bound: true });
    const status = await r.call("GET", "/convos/status");
    expect(status.body).toMatchObject({ conversationId: res.body.conversationId, pending: false, clean: false });
    // One conversation per instance: a second provision is a 409 and changes nothing.
    const again = await r.call("POST", "/pool/provision", { agentName: "Bob" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("already_bound");
    expect(readTranscript(r.convosHome).filter((e) => e.command === "conversations:create")).toHaveLength(1);
  });

  it("joins from an invite URL", async () => {
    const r = await runtime();
    await r.waitReady();
    const invite = fakeInvite(r.convosHome, { name: "Lisbon" });
    const res = await r.call("POST", "/pool/provision", { agentName: "Ava", joinUrl: invite.inviteUrl });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "joined", joined: true, inviteUrl: invite.inviteUrl, conversationId: invite.conversationId });
  });

  it("reports pending_acceptance when the creator has not accepted yet", async () => {
    const r = await runtime({ env: { FAKE_CONVOS_JOIN_MODE: "pending", CONVOS_JOIN_TIMEOUT_SECONDS: "1" } });
    await r.waitReady();
    const res = await r.call("POST", "/pool/provision", { joinUrl: fakeInvite(r.convosHome).inviteUrl });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "pending_acceptance", joined: false, conversationId: null });
    expect((await r.call("GET", "/convos/status")).body).toMatchObject({ pending: true, clean: false });
    expect((await r.call("POST", "/pool/provision", {})).status).toBe(409);
  });

  it("rejects a bad or missing token with 401 and bad input with 400 naming the field", async () => {
    const r = await runtime();
    await r.waitReady();
    expect((await r.call("POST", "/pool/provision", {}, null)).status).toBe(401);
    const wrong = await r.call("POST", "/pool/provision", {}, "not-the-token");
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
    const long = await r.call("POST", "/pool/provision", { agentName: "x".repeat(101) });
    expect(long.status).toBe(400);
    expect(long.body.error.message).toMatch(/^agentName/u);
    expect((await r.call("POST", "/pool/provision", "{not json")).status).toBe(400);
    expect((await r.call("POST", "/pool/provision", { surprise: true })).status).toBe(400);
    const prod = await r.call("POST", "/pool/provision", { joinUrl: "https://popup.convos.org/v2?i=abc" });
    expect(prod.status).toBe(400);
    expect(prod.body.error.message).toMatch(/production invite.*XMTP dev/u);
    const invalid = await r.call("POST", "/pool/provision", { joinUrl: "https://dev.convos.org/v2?i=invalid-sig" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe("invalid_invite");
    expect(invalid.body.error.message).toMatch(/^the invite cannot be used: \S/u);
    // None of that bound the instance.
    expect((await r.call("GET", "/convos/status")).body).toMatchObject({ clean: true, conversationId: null });
  });

  it("answers 503 while the gateway is not ready", async () => {
    const r = await runtime({ env: { STUB_GATEWAY_START_DELAY_MS: "3000" } });
    await waitFor(async () => (await r.health()).status === 503, "front server up");
    const res = await r.call("POST", "/pool/provision", { agentName: "Ava" });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("not_ready");
  });
});

describe("supervision", () => {
  it("restarts a crashed gateway, becomes ready again and resumes the conversation", async () => {
    const r = await runtime();
    await r.waitReady();
    const { body } = await r.call("POST", "/pool/provision", { agentName: "Ava" });
    await waitFor(async () => (await r.call("GET", "/convos/status")).body.streaming, "streaming");
    const gatewayPid = descendants(r.child.pid!).find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("stub-gateway"));
    expect(gatewayPid).toBeDefined();
    process.kill(gatewayPid!, "SIGKILL");
    await waitFor(async () => (await r.health()).status === 503, "health to notice the crash");
    await r.waitReady();
    expect(alive(gatewayPid!)).toBe(false);
    await waitFor(async () => (await r.call("GET", "/convos/status")).body.streaming, "streaming again");
    expect((await r.call("GET", "/convos/status")).body.conversationId).toBe(body.conversationId);
    expect(r.output()).toMatch(/gateway exited \(SIGKILL\); restarting in \d+ ms/u);
    // The agent still hears the chat after the restart.
    fakeConvos(r.convosHome, ["fake-inject", body.conversationId, "--text", "are you back?"]);
    await waitFor(() => readTranscript(r.convosHome).some((e) => e.kind === "sent" && e.text === "echo: are you back?"), "stub echo reply");
  });

  it("never answers for another process that holds its gateway port", async () => {
    // Someone else's gateway (already bound to its own conversation) sits on the port ours was told to use.
    const foreign = await foreignGateway();
    const r = await runtime({ env: { OPENCLAW_GATEWAY_PORT: String(foreign.port) } });
    await waitFor(
      async () => String((await r.health()).body.reason) === "another process answers on the gateway port",
      () => `health to refuse the foreign answer\n${r.output().slice(-2000)}`,
      20_000,
    );
    const res = await r.call("POST", "/pool/provision", { agentName: "Ava" });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("not_ready");
    expect(foreign.posts).toEqual([]);
    await foreign.close();
  });

  it("moves its gateway to a new port when the automatically chosen one was taken meanwhile", async () => {
    const r = await runtime({ env: { GATEWAY_RESTART_BACKOFF_MS: "1500" } });
    await r.waitReady();
    const { body } = await r.call("POST", "/pool/provision", { agentName: "Ava" });
    const port = Number(/on 127\.0\.0\.1:(\d+)/u.exec(r.output())![1]);
    const gatewayPid = descendants(r.child.pid!).find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("stub-gateway"))!;
    process.kill(gatewayPid, "SIGKILL");
    // Another process takes the port during the restart's backoff.
    const foreign = await foreignGateway(port);
    await waitFor(
      () => r.output().includes(`gateway port ${port} is held by another process; the gateway moves to `),
      () => `the move\n${r.output().slice(-2000)}`,
      20_000,
    );
    await r.waitReady();
    expect((await r.call("GET", "/convos/status")).body.conversationId).toBe(body.conversationId);
    expect(foreign.posts).toEqual([]);
    await foreign.close();
  });

  it("stops saying ready when the CLI reports the conversation gone", async () => {
    const r = await runtime();
    await r.waitReady();
    const { body } = await r.call("POST", "/pool/provision", { agentName: "Ava" });
    await waitFor(async () => (await r.call("GET", "/convos/status")).body.streaming, "streaming");
    fs.writeFileSync(path.join(r.convosHome, "fake-control.json"), JSON.stringify({ FAKE_CONVOS_SERVE_FAIL: "not-found" }));
    fakeConvos(r.convosHome, ["fake-inject", body.conversationId, "--event", "crash"]);
    await waitFor(async () => (await r.health()).status === 503, "health to report the dead conversation");
    expect(String((await r.health()).body.reason)).toMatch(/conversation stream stopped: Conversation not found/u);
  });

  it("stops the gateway and every process under it on SIGTERM", async () => {
    const r = await runtime();
    await r.waitReady();
    await r.call("POST", "/pool/provision", { agentName: "Ava" });
    await waitFor(async () => (await r.call("GET", "/convos/status")).body.streaming, "streaming");
    const tree = descendants(r.child.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(2); // stub gateway + convos agent serve
    expect(await r.stop()).toBe(0);
    await waitFor(() => tree.every((pid) => !alive(pid)), "children to exit", 5000);
  });
});

describe("proxy", () => {
  it("forwards other paths to the gateway, WebSockets included", async () => {
    const r = await runtime();
    await r.waitReady();
    const notFound = await r.call("GET", "/some/gateway/page", undefined, null);
    expect(notFound.status).toBe(404);
    expect(notFound.body.error.message).toMatch(/stub gateway/u);
    const ws = openWebSocket(`ws://127.0.0.1:${r.port}/ws`);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.on("open", () => ws.send("ping through the proxy"));
      ws.on("message", (data: Buffer) => resolve(data.toString()));
      ws.on("error", reject);
    });
    ws.close();
    expect(echoed).toBe("ping through the proxy");
  });
});

describe("self-destruct", () => {
  let pool: http.Server | undefined;
  afterAll(() => pool?.close());

  it("asks the pool to destroy this instance when called from inside the instance", async () => {
    const calls: Array<{ url: string; auth?: string }> = [];
    pool = http.createServer((req, res) => {
      calls.push({ url: req.url ?? "", auth: req.headers.authorization });
      req.resume();
      res.writeHead(202).end("{}");
    });
    await new Promise<void>((resolve) => pool!.listen(0, "127.0.0.1", resolve));
    const poolUrl = `http://127.0.0.1:${(pool.address() as { port: number }).port}`;
    const r = await runtime({ env: { POOL_URL: poolUrl, INSTANCE_ID: "inst-42" } });
    await r.waitReady();
    const res = await r.call("POST", "/pool/self-destruct", undefined, null);
    expect(res.status).toBe(202);
    expect(calls).toEqual([{ url: "/api/pool/instances/inst-42/self-destruct", auth: `Bearer ${r.token}` }]);
  });
});

/** An HTTP server that answers like a gateway of another instance, bound to its own conversation. */
async function foreignGateway(port = 0): Promise<{ port: number; posts: string[]; close: () => Promise<void> }> {
  const posts: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.method === "POST") posts.push(req.url ?? "");
    res.writeHead(req.url === "/convos/status" ? 200 : 409, { "content-type": "application/json" });
    res.end(
      JSON.stringify(
        req.url === "/convos/status"
          ? { conversationId: "someone-elses", clean: false, pending: false, agentAttached: true, streamError: null, identity: { state: "registered" }, bootId: "another-runtime" }
          : { error: { code: "already_bound", message: "this instance already has its conversation" } },
      ),
    );
  });
  // The port may still be closing after the process that held it was killed.
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => resolve(true));
      }),
    "the foreign server to listen",
    5_000,
    20,
  );
  return { port: (server.address() as import("node:net").AddressInfo).port, posts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
