// The convos plugin's core against the fake convos CLI: what a conversation owner would
// notice — the agent joins or creates the chat, hears messages, answers, reacts, and
// explodes the chat when told to, asking the pool to destroy the instance.
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConvosService, type InboundMessage } from "../../runtime-container/plugins/convos/src/convos-service.ts";
import { CLI_SCHEMA, FAKE_CONVOS, fakeConvos, fakeInvite, readTranscript, startFakePool, tempDir, waitFor, type PoolCall } from "./support.ts";

process.env.FAKE_CONVOS_SCHEMA = CLI_SCHEMA;
// The model's behaviour without its real-time costs (timing is bench's business).
process.env.FAKE_CONVOS_LATENCY = "none";
const HEX64 = /^[0-9a-f]{64}$/u;

let pool: Awaited<ReturnType<typeof startFakePool>>;
let poolUrl: string;
let poolCalls: PoolCall[];

beforeAll(async () => {
  pool = await startFakePool();
  poolUrl = pool.url;
  poolCalls = pool.calls;
});
afterAll(() => pool.close());

const services: ConvosService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.shutdown()));
});

function makeService(overrides: Partial<ConstructorParameters<typeof ConvosService>[0]> = {}) {
  const dir = tempDir("convos-service");
  const home = path.join(dir, "convos");
  const workspaceDir = path.join(dir, "workspace");
  const service = new ConvosService({
    bin: FAKE_CONVOS,
    home,
    env: "dev",
    stateFile: path.join(dir, "binding.json"),
    workspaceDir,
    pool: { poolUrl, instanceId: "inst-1", gatewayToken: "tok-1" },
    serveBackoff: { initialMs: 50, maxMs: 400 },
    pendingPollMs: 100,
    joinTimeoutSeconds: 1,
    ...overrides,
  });
  services.push(service);
  return { service, home, dir, workspaceDir };
}

async function streaming(service: ConvosService) {
  await waitFor(() => service.status().streaming, "agent serve ready");
}

describe("creating a conversation", () => {
  it("creates the chat, returns a dev invite URL and starts streaming it", async () => {
    const { service, home } = makeService();
    expect(service.status()).toMatchObject({ conversationId: null, clean: true, pending: false, streaming: false });
    const created = await service.create({ name: "Trip to Lisbon", profileName: "Ava", permissions: "all-members" });
    expect(created.inviteUrl).toMatch(/^https:\/\/dev\.convos\.org\/v2\?i=/u);
    await streaming(service);
    expect(service.status()).toMatchObject({ conversationId: created.conversationId, clean: false, pending: false, streaming: true });
    expect(service.status().inboxId).toMatch(/^[0-9a-f]{64}$/u);
    const serve = readTranscript(home).find((e) => e.kind === "command" && e.command === "agent:serve");
    expect(serve?.args).toEqual([created.conversationId]);
    expect(serve?.flags).toMatchObject({ json: true, env: "dev", "profile-name": "Ava" });
    expect(Number(serve?.flags?.heartbeat)).toBe(30);
  });

  it("refuses a second create or join with 409: one conversation per instance", async () => {
    const { service } = makeService();
    await service.create({ name: "One" });
    await expect(service.create({ name: "Two" })).rejects.toMatchObject({ status: 409, code: "already_bound" });
    await expect(service.join({ inviteUrl: "https://dev.convos.org/v2?i=abc" })).rejects.toMatchObject({ status: 409 });
  });

  it("refuses an invite or create for the other XMTP environment", async () => {
    const { service } = makeService();
    await expect(service.create({ env: "production" })).rejects.toMatchObject({ status: 400, code: "env_mismatch" });
    expect(service.status().clean).toBe(true);
  });

  it("survives a restart: a new process resumes the bound conversation", async () => {
    const { service, dir, home } = makeService();
    const { conversationId } = await service.create({ name: "Persistent" });
    await service.shutdown();
    const again = new ConvosService({ ...service.opts, stateFile: path.join(dir, "binding.json"), home });
    services.push(again);
    expect(again.status()).toMatchObject({ conversationId, clean: false });
    again.resume();
    await streaming(again);
    await expect(again.create({})).rejects.toMatchObject({ status: 409 });
  });
});

describe("joining from an invite", () => {
  it("joins when the creator accepts at once", async () => {
    const { service, home } = makeService();
    const invite = fakeInvite(home, { name: "Lisbon" });
    const result = await service.join({ inviteUrl: invite.inviteUrl, profileName: "Ava" });
    expect(result).toEqual({ status: "joined", conversationId: invite.conversationId });
    expect(service.status().name).toBe("Lisbon");
    await streaming(service);
  });

  it("reports pending_acceptance, then binds once the creator accepts", async () => {
    // The real join waits --timeout seconds for the creator before answering "timeout".
    const { service, home } = makeService({ joinTimeoutSeconds: 1 });
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, "fake-control.json"), JSON.stringify({ FAKE_CONVOS_JOIN_MODE: "pending" }));
    const result = await service.join({ inviteUrl: fakeInvite(home).inviteUrl });
    expect(result).toEqual({ status: "pending_acceptance", conversationId: null });
    expect(service.status()).toMatchObject({ pending: true, clean: false, conversationId: null });
    fakeConvos(home, ["fake-accept"]);
    await waitFor(() => service.status().conversationId, "pending join to bind", 5000);
    expect(service.status().pending).toBe(false);
    await streaming(service);
  });

  it("rejects a malformed invite with 400 naming the problem, and stays clean for the pool", async () => {
    const { service } = makeService();
    // The real CLI fails decoding the slug's protobuf: exit 2, oclif's error and USAGE on stderr.
    const err = await service.join({ inviteUrl: "https://dev.convos.org/v2?i=invalid-signature" }).catch((e) => e);
    expect(err).toMatchObject({ status: 400, code: "invalid_invite" });
    expect(err.message).toMatch(/^the invite cannot be used: \S/u);
    expect(err.message).not.toMatch(/USAGE|›|--timeout/u);
    expect(service.status()).toMatchObject({ clean: true, conversationId: null });
  });

  it("rejects an expired invite with the CLI's reason", async () => {
    const { service, home } = makeService();
    const invite = fakeInvite(home);
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, "fake-control.json"), JSON.stringify({ FAKE_CONVOS_JOIN_MODE: "expired" }));
    await expect(service.join({ inviteUrl: invite.inviteUrl })).rejects.toMatchObject({ status: 400, code: "invalid_invite", message: expect.stringMatching(/expired/iu) });
  });
});

describe("the conversation stream", () => {
  it("maps inbound messages with sender, id, body and timestamp, and drops the agent's own", async () => {
    const { service, home } = makeService();
    const seen: InboundMessage[] = [];
    service.onInbound((m) => seen.push(m));
    const { conversationId } = await service.create({ name: "Chat" });
    await streaming(service);
    fakeConvos(home, ["fake-inject", conversationId, "--text", "What's the plan for Saturday?", "--sender-name", "Maya", "--sender-inbox-id", "a".repeat(64), "--id", "msg-1"]);
    // An echo of the agent's own inbox must never reach the agent again.
    fakeConvos(home, ["fake-inject", conversationId, "--text", "my own words", "--sender-inbox-id", service.status().inboxId!]);
    fakeConvos(home, ["fake-inject", conversationId, "--text", "second", "--sender-inbox-id", "b".repeat(64)]);
    fakeConvos(home, ["fake-inject", conversationId, "--event", "member_added", "--sender-inbox-id", "a".repeat(64), "--member-name", "Sam"]);
    const texts = () => seen.filter((m) => m.kind === "text");
    await waitFor(() => texts().length >= 2 && seen.some((m) => m.kind === "group_update"), "two inbound messages and a member added");
    await new Promise((r) => setTimeout(r, 300));
    expect(texts()).toHaveLength(2);
    expect(texts()[0]).toMatchObject({
      kind: "text",
      conversationId,
      messageId: "msg-1",
      senderId: "a".repeat(64),
      senderName: "Maya",
      body: "What's the plan for Saturday?",
      text: "What's the plan for Saturday?",
      contentType: "text",
    });
    expect(Math.abs(texts()[0]!.timestamp.getTime() - Date.now())).toBeLessThan(10_000);
    expect(texts()[1]).toMatchObject({ body: "second", senderId: "b".repeat(64) });
    // Members joining is part of the conversation too: delivered as a group update, not dropped.
    expect(seen.find((m) => m.kind === "group_update")).toMatchObject({ kind: "group_update", senderId: "a".repeat(64), membersAdded: [expect.any(String)] });
  });

  it("holds messages that arrive before the agent attaches and hands them over on attach", async () => {
    const { service, home } = makeService();
    const { conversationId } = await service.create({});
    await streaming(service);
    fakeConvos(home, ["fake-inject", conversationId, "--text", "early bird"]);
    await new Promise((r) => setTimeout(r, 600));
    expect(service.status().agentAttached).toBe(false);
    const seen: string[] = [];
    service.onInbound((m) => m.kind === "text" && seen.push(m.body));
    expect(seen).toEqual(["early bird"]);
  });

  it("sends and reacts through the agent serve stdin protocol", async () => {
    const { service, home } = makeService();
    const { conversationId } = await service.create({});
    await streaming(service);
    const sent = await service.send("Saturday: hike at 9, lunch at 1.");
    expect(sent.messageId).toMatch(HEX64);
    await service.react("msg-42", "👀");
    await service.react("msg-42", "👀", "remove");
    const t = readTranscript(home);
    expect(t).toContainEqual(expect.objectContaining({ kind: "sent", conversationId, text: "Saturday: hike at 9, lunch at 1." }));
    expect(t.filter((e) => e.kind === "reaction").map((e) => [e.messageId, e.emoji, e.action])).toEqual([
      ["msg-42", "👀", "add"],
      ["msg-42", "👀", "remove"],
    ]);
    // Nothing was sent through one-shot commands: the long-lived process carries it all (the
    // only one-shot after create is the read-only catch-up).
    expect(t.filter((e) => e.kind === "command" && e.command !== "conversation:messages").map((e) => e.command)).toEqual(["conversations:create", "agent:serve"]);
  });

  it("renames and locks through the stream", async () => {
    const { service, home } = makeService();
    await service.create({ name: "Old" });
    await streaming(service);
    await service.rename("New name");
    await service.lock(false);
    await service.lock(true);
    expect(
      readTranscript(home)
        .filter((e) => ["rename", "lock", "unlock"].includes(e.kind))
        .map((e) => e.kind),
    ).toEqual(["rename", "lock", "unlock"]);
  });

  it("restarts agent serve with backoff after a crash mid-stream, and keeps delivering", async () => {
    const { service, home } = makeService();
    const seen: string[] = [];
    service.onInbound((m) => seen.push(m.body));
    const { conversationId } = await service.create({});
    await streaming(service);
    fakeConvos(home, ["fake-inject", conversationId, "--event", "crash"]);
    // The real CLI's serve exits after the crash; the gateway must stay up and restart it.
    await waitFor(() => !service.status().streaming, "stream to drop");
    await streaming(service);
    fakeConvos(home, ["fake-inject", conversationId, "--text", "still there?"]);
    await waitFor(() => seen.includes("still there?"), "message after restart");
    expect(readTranscript(home).filter((e) => e.kind === "serve_started")).toHaveLength(2);
  });

  it("gives up restarting when the CLI says the conversation is gone", async () => {
    const { service, home } = makeService();
    await service.create({});
    await streaming(service);
    fs.writeFileSync(path.join(home, "fake-control.json"), JSON.stringify({ FAKE_CONVOS_SERVE_FAIL: "not-found" }));
    fakeConvos(home, ["fake-inject", service.status().conversationId!, "--event", "crash"]);
    await waitFor(() => service.status().streamError, "stream to give up");
    expect(service.status().streamError).toMatch(/Conversation not found/u);
    const starts = readTranscript(home).filter((e) => e.kind === "command" && e.command === "agent:serve").length;
    await new Promise((r) => setTimeout(r, 500));
    expect(readTranscript(home).filter((e) => e.kind === "command" && e.command === "agent:serve").length).toBe(starts);
    await expect(service.send("hello?")).rejects.toMatchObject({ status: 503 });
  });

  it("reports a slow-starting CLI as not streaming until it is ready", async () => {
    const { service, home } = makeService();
    await service.create({});
    await streaming(service);
    fs.writeFileSync(path.join(home, "fake-control.json"), JSON.stringify({ FAKE_CONVOS_SLOW_START_MS: 600 }));
    fakeConvos(home, ["fake-inject", service.status().conversationId!, "--event", "crash"]);
    await waitFor(() => !service.status().streaming, "stream to drop");
    await expect(service.send("too early")).rejects.toMatchObject({ status: 503, code: "stream_unavailable" });
    await streaming(service);
    await expect(service.send("now")).resolves.toHaveProperty("messageId");
  });
});

describe("explode and reset", () => {
  it("explode removes everyone, wipes the instance and asks the pool to destroy it", async () => {
    const { service, home, workspaceDir } = makeService();
    fs.mkdirSync(workspaceDir, { recursive: true });
    fs.writeFileSync(path.join(workspaceDir, "MEMORY.md"), "what the group said\n");
    const { conversationId } = await service.create({});
    await streaming(service);
    poolCalls.length = 0;
    const result = await service.explode();
    expect(result.selfDestruct.requested).toBe(true);
    expect(readTranscript(home)).toContainEqual(expect.objectContaining({ kind: "explode", conversationId }));
    expect(service.status()).toMatchObject({ conversationId: null, exploded: true, streaming: false, clean: false });
    expect(poolCalls).toEqual([{ path: "/api/pool/instances/inst-1/self-destruct", auth: "Bearer tok-1", body: expect.stringContaining("exploded") }]);
    // Nothing of the conversation stays: identity, databases, workspace files.
    expect(fs.readdirSync(workspaceDir)).toEqual([]);
    expect(fs.existsSync(path.join(home, "identity.json")) || fs.existsSync(path.join(home, "db"))).toBe(false);
    await expect(service.create({})).rejects.toMatchObject({ status: 409 });
  });

  it("reset wipes the identity and binding so the instance is clean again", async () => {
    const { service, home, workspaceDir } = makeService();
    await service.create({});
    fs.mkdirSync(workspaceDir, { recursive: true });
    fs.writeFileSync(path.join(workspaceDir, "INSTRUCTIONS.md"), "old instructions\n");
    await streaming(service);
    await service.reset();
    expect(service.status()).toMatchObject({ conversationId: null, clean: true, streaming: false });
    expect(fs.existsSync(path.join(workspaceDir, "INSTRUCTIONS.md"))).toBe(false);
    expect(readTranscript(home).some((e) => e.kind === "reset")).toBe(true);
    await expect(service.create({ name: "fresh" })).resolves.toHaveProperty("conversationId");
  });
});
