// The convos plugin against the real CLI's behaviour (its twin, dev/fake-convos): what an
// operator or a chat member notices when the CLI misbehaves the way the real one does — error
// lines, commands answered one by one with no request id, a stream that goes quiet, a serve
// that replays nothing after a restart, invites that rotate on lock, an owner who explodes the
// chat from the app, an XMTP network that is unreachable at boot.
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConvosService, type ConvosServiceOptions, type InboundMessage } from "../../runtime-container/plugins/convos/src/convos-service.ts";
import { pathToFileURL } from "node:url";
import { CLI_SCHEMA, FAKE_CONVOS, RUNTIME_DIR, fakeConvos, fakeInvite, readTranscript, startFakePool, tempDir, waitFor } from "./support.ts";

process.env.FAKE_CONVOS_SCHEMA = CLI_SCHEMA;
process.env.FAKE_CONVOS_LATENCY = "none";

let pool: Awaited<ReturnType<typeof startFakePool>>;
let poolUrl: string;
beforeAll(async () => {
  pool = await startFakePool();
  poolUrl = pool.url;
});
afterAll(() => pool.close());

const services: ConvosService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.shutdown()));
});

function options(dir: string, overrides: Partial<ConvosServiceOptions> = {}): ConvosServiceOptions {
  return {
    bin: FAKE_CONVOS,
    home: path.join(dir, "convos"),
    env: "dev",
    stateFile: path.join(dir, "binding.json"),
    workspaceDir: path.join(dir, "workspace"),
    pool: { poolUrl, instanceId: "inst-r", gatewayToken: "tok-r" },
    serveBackoff: { initialMs: 50, maxMs: 400 },
    registerBackoff: { initialMs: 100, maxMs: 400 },
    joinTimeoutSeconds: 2,
    ...overrides,
  };
}

function service(opts: ConvosServiceOptions): ConvosService {
  const s = new ConvosService(opts);
  services.push(s);
  return s;
}

/** The agent joins an app owner's conversation (it is a member there, not an admin). */
async function joined(name: string) {
  const dir = tempDir("convos-resilience");
  const opts = options(dir);
  const s = service(opts);
  const invite = fakeInvite(opts.home, { name });
  await s.join({ inviteUrl: invite.inviteUrl, profileName: "Ava" });
  await waitFor(() => s.status().streaming, "agent serve ready");
  return { s, opts, invite };
}

async function created(overrides: Partial<ConvosServiceOptions> = {}) {
  const dir = tempDir("convos-resilience");
  const opts = options(dir, overrides);
  const s = service(opts);
  const seen: InboundMessage[] = [];
  s.onInbound((m) => seen.push(m));
  const { conversationId, inviteUrl } = await s.create({ name: "Trip", profileName: "Ava" });
  await waitFor(() => s.status().streaming, "agent serve ready");
  return { s, opts, dir, home: opts.home, conversationId, inviteUrl, seen };
}

const serveStarts = (home: string) => readTranscript(home).filter((e) => e.kind === "serve_started").length;

describe("error lines from agent serve", () => {
  it("are counted and shown in status, and never stop the stream", async () => {
    const { s, home, conversationId } = await created();
    fakeConvos(home, ["fake-inject", conversationId, "--event", "error", "--text", "Failed to catch up messages: boom"]);
    await waitFor(() => s.status().errorCount === 1, "error counted");
    expect(s.status()).toMatchObject({ streaming: true, errorCount: 1, lastError: { message: "Failed to catch up messages: boom", source: "serve" } });
    await expect(s.send("still here")).resolves.toMatchObject({ messageId: expect.stringMatching(/^[0-9a-f]{64}$/u) });
  });

  it("'Message stream ended' means the stream is dead: serve is restarted", async () => {
    const { s, home, conversationId } = await created();
    fakeConvos(home, ["fake-inject", conversationId, "--event", "stream-error", "--text", "Message stream ended: connection reset"]);
    await waitFor(() => serveStarts(home) === 2 && s.status().streaming, "serve restarted");
    expect(s.status()).toMatchObject({ serveRestarts: 1, lastError: { message: expect.stringMatching(/^Message stream ended/u) } });
  });
});

describe("stdin commands and their answers", () => {
  it("three concurrent sends get three different ids, each the id of its own message", async () => {
    const { s, home } = await created();
    const results = await Promise.all(["one", "two", "three"].map((t) => s.send(t)));
    const ids = results.map((r) => r.messageId);
    expect(new Set(ids).size).toBe(3);
    const sent = readTranscript(home).filter((e) => e.kind === "sent") as Array<{ text?: string; id?: string }>;
    expect(ids).toEqual(["one", "two", "three"].map((t) => sent.find((e) => e.text === t)?.id));
  });

  it("a failing react next to sends fails on its own, with the CLI's message; the sends succeed", async () => {
    const { s } = await created();
    const [first, react, second] = await Promise.allSettled([s.send("before"), s.serveCommand({ type: "react", messageId: "", emoji: "👀" }), s.send("after")]);
    expect(first).toMatchObject({ status: "fulfilled", value: { messageId: expect.any(String) } });
    expect(second).toMatchObject({ status: "fulfilled", value: { messageId: expect.any(String) } });
    expect(react).toMatchObject({ status: "rejected", reason: { status: 502, code: "stream_command_failed", message: "react failed: react command requires 'messageId' and 'emoji' fields" } });
    expect(s.status().streaming).toBe(true);
  });

  it("lock by a member who is not admin fails the call with the CLI's cause, and the stream stays up", async () => {
    const { s } = await joined("Owner's chat");
    const err = await s.lock(false).catch((e) => e);
    expect(err).toMatchObject({ status: 502, code: "stream_command_failed" });
    expect(err.message).toMatch(/^lock failed: Command failed: \S/u);
    expect(s.status()).toMatchObject({ streaming: true, errorCount: 1 });
    await expect(s.send("sorry, I can't lock it")).resolves.toHaveProperty("messageId");
  });
});

describe("a stream that goes quiet", () => {
  it("is dead once heartbeats stop (three missed beats): not streaming, then restarted", async () => {
    const { s, home, conversationId } = await created({ heartbeatSeconds: 1 });
    await waitFor(() => s.status().lastHeartbeatAt, "a heartbeat");
    fakeConvos(home, ["fake-inject", conversationId, "--event", "heartbeat-stall"]);
    await waitFor(() => !s.status().streaming, "stall noticed", 10_000, 100);
    await waitFor(() => s.status().streaming && serveStarts(home) === 2, "serve restarted", 15_000);
    expect(s.status().serveRestarts).toBe(1);
  });
});

describe("messages sent while no serve was running", () => {
  it("are fetched after a restart and dispatched once, never twice, across process restarts too", async () => {
    const { s, opts, home, conversationId, seen } = await created();
    const member = ["--sender-inbox-id", "a".repeat(64), "--sender-name", "Maya"];
    fakeConvos(home, ["fake-inject", conversationId, "--text", "live one", ...member]);
    await waitFor(() => seen.some((m) => m.body === "live one"), "live message");
    // The gateway goes down; the chat goes on.
    await s.shutdown();
    fakeConvos(home, ["fake-inject", conversationId, "--text", "while you were out", ...member]);
    const first = fakeConvos(home, ["fake-inject", conversationId, "--text", "and this", ...member]);
    fakeConvos(home, ["fake-inject", conversationId, "--reaction", "👍", "--to", JSON.parse(first).injected.id, ...member]);

    const again = service(opts);
    const seenAgain: InboundMessage[] = [];
    again.onInbound((m) => seenAgain.push(m));
    again.resume();
    await waitFor(() => seenAgain.some((m) => m.kind === "reaction"), "missed messages caught up");
    const texts = seenAgain.filter((m) => m.kind === "text").map((m) => m.body);
    expect(texts).toEqual(["while you were out", "and this"]);
    expect(seenAgain.find((m) => m.kind === "reaction")).toMatchObject({ emoji: "👍", action: "add", targetMessageId: JSON.parse(first).injected.id, catchup: true });
    // The first heartbeat's second catch-up, and a third process, bring nothing twice.
    await again.shutdown();
    const third = service(opts);
    const seenThird: InboundMessage[] = [];
    third.onInbound((m) => seenThird.push(m));
    third.resume();
    const catchups = () => readTranscript(home).filter((e) => e.command === "conversation:messages").length;
    const before = catchups();
    await waitFor(() => third.status().streaming && catchups() > before, "third serve caught up");
    await new Promise((r) => setTimeout(r, 500));
    expect(seenThird.filter((m) => m.kind === "text" || m.kind === "reaction")).toEqual([]);
  });
});

describe("a gap the CLI's own catch-up lost", () => {
  it("is fetched by the plugin and dispatched once", async () => {
    const { home, conversationId, seen } = await created();
    // The stream restarts inside serve; its catch-up fails, so serve never prints the gap.
    fakeConvos(home, ["fake-inject", conversationId, "--event", "catchup-error", "--text", "transport error"]);
    fakeConvos(home, ["fake-inject", conversationId, "--event", "stream-restart", "--duration-ms", "2000"]);
    await new Promise((r) => setTimeout(r, 300));
    fakeConvos(home, ["fake-inject", conversationId, "--text", "said during the gap", "--sender-name", "Maya"]);
    await waitFor(() => seen.some((m) => m.body === "said during the gap"), "the gap filled", 20_000);
    fakeConvos(home, ["fake-inject", conversationId, "--text", "after the gap", "--sender-name", "Maya"]);
    await waitFor(() => seen.some((m) => m.body === "after the gap"), "live again", 20_000);
    expect(seen.filter((m) => m.body === "said during the gap")).toHaveLength(1);
  });
});

describe("lock, unlock and rename", () => {
  it("rotate the invite, and status reports the live one", async () => {
    const { s, home, conversationId, inviteUrl } = await created();
    // The real CLI's own invite parser: an invite is live when its tag is the conversation's current one.
    const { parseInvite } = await import(pathToFileURL(path.join(RUNTIME_DIR, "node_modules/@xmtp/convos-cli/dist/utils/invite.js")).href);
    const tagOf = (url: string | null) => parseInvite(url!).tag as string;
    const currentTag = () => JSON.parse(fakeConvos(home, ["conversation", "invite", conversationId, "--json"])).tag as string;
    expect(tagOf(s.status().inviteUrl)).toBe(currentTag());
    const locked = await s.lock(false);
    expect(tagOf(locked.inviteUrl)).not.toBe(tagOf(inviteUrl));
    expect(s.status().locked).toBe(true);
    expect(tagOf(s.status().inviteUrl)).toBe(currentTag());
    const unlocked = await s.lock(true);
    expect(tagOf(unlocked.inviteUrl)).not.toBe(tagOf(locked.inviteUrl));
    expect(s.status().locked).toBe(false);
    expect(tagOf(s.status().inviteUrl)).toBe(currentTag());
    await s.rename("Lisbon 2027");
    expect(s.status().name).toBe("Lisbon 2027");
    expect(parseInvite(s.status().inviteUrl!)).toMatchObject({ tag: currentTag(), name: "Lisbon 2027" });
  });
});

describe("the owner explodes the conversation from the app", () => {
  it("wipes conversation state, identity and workspace, and asks the pool to destroy the instance", async () => {
    const { s, opts, invite } = await joined("Party");
    fs.mkdirSync(opts.workspaceDir!, { recursive: true });
    fs.writeFileSync(path.join(opts.workspaceDir!, "INSTRUCTIONS.md"), "plan the party\n");
    pool.calls.length = 0;
    fakeConvos(opts.home, ["fake-inject", invite.conversationId, "--event", "explode"]);
    await waitFor(() => s.status().exploded && pool.calls.length > 0, "instance wiped and destruction asked");
    expect(pool.calls.map((c) => c.path)).toEqual(["/api/pool/instances/inst-r/self-destruct"]);
    expect(s.status()).toMatchObject({ exploded: true, conversationId: null, streaming: false, clean: false, inviteUrl: null });
    expect(fs.readdirSync(opts.workspaceDir!)).toEqual([]);
    expect(fs.existsSync(path.join(opts.home, "identity.json"))).toBe(false);
    expect(fs.existsSync(path.join(opts.home, "db"))).toBe(false);
    // A restart never hands the instance out again.
    await s.shutdown();
    const again = service(opts);
    expect(again.status()).toMatchObject({ exploded: true, clean: false });
  });
});

describe("the owner schedules the explosion", () => {
  it("keeps the conversation until then, across a restart, and wipes at that time", async () => {
    const { s, opts, invite } = await joined("Farewell");
    const at = new Date(Date.now() + 6000).toISOString();
    fakeConvos(opts.home, ["fake-inject", invite.conversationId, "--event", "explode", "--scheduled", at]);
    await waitFor(() => JSON.parse(fs.readFileSync(opts.stateFile, "utf8")).explodesAt === at, "the scheduled time remembered");
    expect(s.status()).toMatchObject({ exploded: false, conversationId: invite.conversationId });
    // A gateway restart in between still explodes on time.
    await s.shutdown();
    const again = service(opts);
    again.resume();
    await waitFor(() => again.status().exploded, "exploded at the scheduled time", 20_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(at) - 1000);
    expect(fs.existsSync(path.join(opts.home, "identity.json"))).toBe(false);
  });
});

describe("the XMTP identity, registered while idle", () => {
  it("is created and registered at boot, and the claim reuses it", async () => {
    const dir = tempDir("convos-resilience");
    const s = service(options(dir));
    expect(s.status().identity.state).toBe("pending");
    s.resume();
    await waitFor(() => s.status().identity.state === "registered", "identity registered");
    const { inboxId } = s.status().identity;
    expect(inboxId).toMatch(/^[0-9a-f]{64}$/u);
    expect(s.status()).toMatchObject({ clean: true, conversationId: null });
    await s.create({ name: "Fast" });
    expect(s.status().inboxId).toBe(inboxId);
    expect(readTranscript(options(dir).home).filter((e) => e.kind === "identity_created")).toHaveLength(1);
  });

  it("retries with backoff while the network is down and says why, then registers", async () => {
    const dir = tempDir("convos-resilience");
    const opts = options(dir);
    fs.mkdirSync(opts.home, { recursive: true });
    const control = path.join(opts.home, "fake-control.json");
    fs.writeFileSync(control, JSON.stringify({ FAKE_CONVOS_NETWORK_DOWN: "1" }));
    const s = service(opts);
    s.resume();
    await waitFor(() => s.status().identity.attempts >= 2, "two failed attempts", 20_000);
    expect(s.status().identity).toMatchObject({ state: expect.stringMatching(/retrying|registering/u), error: expect.stringMatching(/transport error/u) });
    fs.rmSync(control);
    await waitFor(() => s.status().identity.state === "registered", "registered once the network is back", 20_000);
    expect(s.status().identity.error).toBeNull();
  });
});
