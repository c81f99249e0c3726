// The convos CLI model (runtime-container/dev/fake-convos) behaves like the real CLI where
// the contract test cannot reach it (everything that needs the XMTP network), and every
// document it prints is one the plugin's schema module (cli-protocol.ts) accepts.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CONTENT_TYPES,
  CreateResult,
  DownloadAttachmentResult,
  ErrorEvent,
  IdentityCreateResult,
  IdentityListResult,
  InviteResult,
  JoinResult,
  ListResult,
  MessagesResult,
  type ReadyEvent,
  ResetResult,
  SentEvent,
  ServeEvent,
  classifyServeError,
  type ServeCommand,
} from "../../runtime-container/plugins/convos/src/cli-protocol.ts";
import { FAKE_CONVOS, readTranscript, tempDir, waitFor } from "./support.ts";

const run = promisify(execFile);
const FAST = { FAKE_CONVOS_LATENCY: "none" };

type Home = { home: string; env: NodeJS.ProcessEnv };
/** Installs that share one model network, as two devices share XMTP. */
function installs(n: number): Home[] {
  const dir = tempDir("fake-convos");
  const env = { ...process.env, ...FAST, FAKE_CONVOS_NETWORK_DIR: path.join(dir, "network") };
  return Array.from({ length: n }, (_, i) => ({ home: path.join(dir, `home${i}`), env }));
}

async function cli(h: Home, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(FAKE_CONVOS, [...args, "--home", h.home], { env: { ...h.env, ...extraEnv } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A fake-only command (fake-invite, fake-inject) in the same network. */
const fake = (h: Home, args: string[]) => JSON.parse(execFileSync(FAKE_CONVOS, [...args, "--home", h.home], { env: h.env, encoding: "utf8" }));

const json = async (h: Home, args: string[]) => {
  const out = await cli(h, [...args, "--json"]);
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout.slice(out.stdout.search(/^[[{]/mu)));
};

/** `agent serve` with its events parsed by the plugin's schema (a parse failure fails the test). */
class Serve {
  readonly events: ServeEvent[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  exited: number | null | undefined;
  constructor(h: Home, conversationId: string, extra: string[] = []) {
    this.child = spawn(FAKE_CONVOS, ["agent", "serve", conversationId, "--json", "--home", h.home, ...extra], { env: h.env });
    readline.createInterface({ input: this.child.stdout }).on("line", (line) => this.events.push(ServeEvent.parse(JSON.parse(line))));
    this.child.on("exit", (code) => (this.exited = code));
  }
  ready() {
    return waitFor(() => this.events.find((e) => e.event === "ready") as ReadyEvent | undefined, "ready");
  }
  next<T extends ServeEvent["event"]>(event: T, after = 0, match: (e: Extract<ServeEvent, { event: T }>) => boolean = () => true) {
    return waitFor(() => this.events.slice(after).find((e): e is Extract<ServeEvent, { event: T }> => e.event === event && match(e as never)), `${event} event`);
  }
  /** Writes commands; resolves with the next `n` answers (sent/error lines that answer commands). */
  async send(cmds: (ServeCommand | Record<string, unknown>)[], n = cmds.length) {
    const from = this.events.length;
    for (const c of cmds) this.child.stdin.write(JSON.stringify(c) + "\n");
    const answers = () => this.events.slice(from).filter((e) => e.event === "sent" || (e.event === "error" && classifyServeError(e) !== "stream"));
    await waitFor(() => answers().length >= n, `${n} answers`);
    return answers();
  }
  stop() {
    if (this.exited === undefined) this.child.stdin.end();
    return waitFor(() => this.exited !== undefined, "serve exit");
  }
}

describe("one-shot commands print the real JSON documents", () => {
  const [agent] = installs(1);
  it("identity create/list, conversations create/list, invite, reset", async () => {
    expect(IdentityListResult.parse(await json(agent!, ["identity", "list"]))).toMatchObject({ count: 0 });
    IdentityCreateResult.parse(await json(agent!, ["identity", "create", "--profile-name", "Ava"]));
    const [row] = IdentityListResult.parse(await json(agent!, ["identity", "list"])) as { inboxId: string }[];
    expect(row!.inboxId).toBe("(not yet registered)");
    const created = CreateResult.parse(await json(agent!, ["conversations", "create", "--name", "Trip", "--permissions", "admin-only"]));
    expect(created).toMatchObject({ name: "Trip", permissions: "admin-only", invite: { url: expect.stringMatching(/^https:\/\/dev\.convos\.org\/v2\?i=/u) } });
    const [listed] = ListResult.parse(await json(agent!, ["conversations", "list"])) as { conversationId: string; memberCount: number }[];
    expect(listed).toMatchObject({ conversationId: created.conversationId, memberCount: 1 });
    const invite = InviteResult.parse(await json(agent!, ["conversation", "invite", created.conversationId]));
    expect(invite.tag).toBe(created.invite.tag);
    expect(ResetResult.parse(await json(agent!, ["reset", "--force"]))).toMatchObject({ identityRemoved: true });
    expect(fs.existsSync(path.join(agent!.home, "identity.json"))).toBe(false);
  });
});

describe("a member's agent: joining the owner's conversation", () => {
  const [agent] = installs(1);
  let conversationId: string;
  let serve: Serve;
  beforeAll(async () => {
    const invite = fake(agent!, ["fake-invite", "--name", "Lisbon", "--owner-name", "Maya"]);
    const out = await cli(agent!, ["conversations", "join", invite.inviteUrl, "--profile-name", "Ava", "--timeout", "5", "--json"]);
    // Progress lines first, then the document, as the real CLI prints them.
    expect(out.stdout).toMatch(/^Invite parsed: tag=\w+ name="Lisbon" creator=[0-9a-f]{12}\.\.\.\n/u);
    const joined = JoinResult.parse(JSON.parse(out.stdout.slice(out.stdout.indexOf("{"))));
    expect(joined).toMatchObject({ status: "joined", conversationName: "Lisbon", profileName: "Ava" });
    conversationId = (joined as { conversationId: string }).conversationId;
    // Sent while no serve runs: must never be replayed by a fresh serve.
    fake(agent!, ["fake-inject", conversationId, "--text", "sent while you were away", "--sender-name", "Maya"]);
    serve = new Serve(agent!, conversationId, ["--heartbeat", "1"]);
    await serve.ready();
  });
  afterAll(() => serve.stop());

  it("replays nothing on a fresh start; what was missed is in `conversation messages`", async () => {
    fake(agent!, ["fake-inject", conversationId, "--text", "live one", "--sender-name", "Maya"]);
    const live = await serve.next("message", 0, (e) => e.content === "live one");
    expect(live).toMatchObject({ contentType: CONTENT_TYPES.text, senderProfile: { name: "Maya" }, deliveryStatus: 1 });
    expect(serve.events.some((e) => e.event === "message" && e.content === "sent while you were away")).toBe(false);
    const messages = MessagesResult.parse(await json(agent!, ["conversation", "messages", conversationId, "--sync", "--direction", "ascending"]));
    expect(messages.map((m) => m.content)).toEqual(expect.arrayContaining(["sent while you were away", "live one"]));
  });

  it("a joined member cannot lock or explode: the tag still rotates, explode still notifies, the command fails", async () => {
    const before = InviteResult.parse(await json(agent!, ["conversation", "invite", conversationId])).tag;
    const [lock, explode] = await serve.send([{ type: "lock" }, { type: "explode" }]);
    expect(ErrorEvent.parse(lock)).toMatchObject({ message: expect.stringMatching(/^Command failed: /u), command: { type: "lock" } });
    expect(ErrorEvent.parse(explode)).toMatchObject({ message: expect.stringMatching(/^Command failed: /u), command: { type: "explode" } });
    expect(InviteResult.parse(await json(agent!, ["conversation", "invite", conversationId])).tag).not.toBe(before);
    expect(serve.exited).toBeUndefined();
  });

  it("the owner exploding the conversation in the app arrives as explode_notice, then sends fail", async () => {
    const from = serve.events.length;
    fake(agent!, ["fake-inject", conversationId, "--event", "explode"]);
    const notice = await serve.next("explode_notice", from);
    expect(Date.parse(notice.expiresAt)).toBeLessThanOrEqual(Date.now());
    const [answer] = await serve.send([{ type: "send", text: "anyone?" }]);
    expect(answer).toMatchObject({ event: "error", message: "Command failed: Unable to send a message on an inactive group." });
    expect(ListResult.parse(await json(agent!, ["conversations", "list"]))).toMatchObject({ count: 0 });
  });
});

describe("the creator's agent: agent serve, event by event", () => {
  const [agent] = installs(1);
  let conversationId: string;
  let serve: Serve;
  const inject = (args: string[]) => fake(agent!, ["fake-inject", conversationId, ...args]);
  beforeAll(async () => {
    conversationId = CreateResult.parse(await json(agent!, ["conversations", "create", "--name", "Book club", "--profile-name", "Ava"])).conversationId;
    serve = new Serve(agent!, conversationId, ["--heartbeat", "1"]);
    await serve.ready();
  });
  afterAll(() => serve.stop());

  it("answers every command in order, each with its own result", async () => {
    const answers = await serve.send([
      { type: "send", text: "one" },
      { type: "send", text: "two" },
      { type: "react", messageId: "m1", emoji: "👍" },
      { type: "react", messageId: "m1" },
      { type: "send", text: "three", replyTo: "m1" },
      { type: "react", messageId: "m1", emoji: "👍", action: "remove" },
    ]);
    expect(answers.map((a) => (a.event === "sent" ? SentEvent.parse(a) && ("text" in a ? a.text : a.type) : (a as ErrorEvent).message))).toEqual([
      "one",
      "two",
      "reaction",
      "react command requires 'messageId' and 'emoji' fields",
      "three",
      "reaction",
    ]);
    const ids = answers.filter((a) => a.event === "sent" && "id" in a).map((a) => (a as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    const t = readTranscript(agent!.home);
    expect(t).toContainEqual(expect.objectContaining({ kind: "sent", text: "three", replyTo: "m1" }));
    expect(t.filter((e) => e.kind === "reaction").map((e) => e.action)).toEqual(["add", "remove"]);
  });

  it("prints members' texts, replies, reactions, group updates and attachments with their content types", async () => {
    const from = serve.events.length;
    const maya = "a".repeat(64);
    const text = inject(["--text", "hello", "--sender-name", "Maya", "--sender-inbox-id", maya]).injected.id;
    inject(["--text", "agreed", "--reply-to", text, "--sender-inbox-id", maya]);
    inject(["--reaction", "❤️", "--to", text, "--sender-inbox-id", maya]);
    inject(["--reaction", "❤️", "--to", text, "--remove", "--sender-inbox-id", maya]);
    inject(["--event", "rename", "--name", "Books!", "--sender-inbox-id", maya]);
    const file = path.join(tempDir("attach"), "map.png");
    fs.writeFileSync(file, Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    const attachmentId = inject(["--attachment", file, "--sender-inbox-id", maya]).injected.id;
    const remoteId = inject(["--attachment", file, "--remote", "--sender-inbox-id", maya]).injected.id;
    await waitFor(() => serve.events.slice(from).filter((e) => e.event === "message").length >= 7, "seven messages");
    const got = serve.events
      .slice(from)
      .filter((e) => e.event === "message")
      .map((e) => ({ type: e.contentType.typeId, content: e.content }));
    expect(got).toEqual([
      { type: "text", content: "hello" },
      { type: "reply", content: `reply to "hello" (${text}): agreed` },
      { type: "reaction", content: `reacted ❤️ to ${text}` },
      { type: "reaction", content: `removed ❤️ to ${text}` },
      { type: "group_updated", content: 'Maya changed group name to "Books!"' },
      { type: "attachment", content: "[attachment: map.png (image/png)]" },
      { type: "remoteStaticAttachment", content: expect.stringMatching(/^\[remote attachment: map\.png \(23 bytes\) https:\/\//u) },
    ]);
    for (const id of [attachmentId, remoteId]) {
      const out = path.join(tempDir("download"), "got.png");
      const result = DownloadAttachmentResult.parse(await json(agent!, ["conversation", "download-attachment", conversationId, id, "--output", out]));
      expect(result.size).toBe(7);
      expect(fs.readFileSync(out)).toEqual(fs.readFileSync(file));
    }
  });

  it("prints typing, profile updates and thinking as their own events; read receipts not at all (as 0.10.15)", async () => {
    const from = serve.events.length;
    const bo = "e".repeat(64);
    inject(["--event", "typing", "--sender-inbox-id", bo]);
    inject(["--event", "profile", "--name", "Bo", "--sender-inbox-id", bo]);
    inject(["--event", "read_receipt", "--sender-inbox-id", bo]);
    inject(["--event", "thinking", "--to", "m1", "--text", "pondering", "--sender-inbox-id", bo]);
    await serve.next("thinking", from);
    const kinds = serve.events
      .slice(from)
      .filter((e) => "senderInboxId" in e && e.senderInboxId === bo)
      .map((e) => e.event);
    expect(kinds).toEqual(["typing", "profile_update", "thinking"]);
    expect(serve.events.slice(from).find((e) => e.event === "profile_update")).toMatchObject({ name: "Bo" });
  });

  it("lock and unlock rotate the invite: the old one no longer gets anyone in", async () => {
    const before = InviteResult.parse(await json(agent!, ["conversation", "invite", conversationId]));
    const [locked, unlocked] = await serve.send([{ type: "lock" }, { type: "unlock" }]);
    expect(locked).toMatchObject({ event: "sent", type: "lock" });
    expect(unlocked).toMatchObject({ event: "sent", type: "unlock" });
    const after = InviteResult.parse(await json(agent!, ["conversation", "invite", conversationId]));
    expect(after.tag).not.toBe(before.tag);
    const from = serve.events.length;
    inject(["--event", "member_joined", "--tag", before.tag, "--sender-name", "Late", "--sender-inbox-id", "c".repeat(64)]);
    inject(["--event", "member_joined", "--sender-name", "Zoe", "--sender-inbox-id", "d".repeat(64)]);
    const joined = await serve.next("member_joined", from);
    expect(joined.inboxId).toBe("d".repeat(64));
    await new Promise((r) => setTimeout(r, 600));
    expect(serve.events.slice(from).filter((e) => e.event === "member_joined")).toEqual([joined]);
  });

  it("heartbeats, a heartbeat stall, a restarted stream (caught up, or not), a dead stream", async () => {
    await serve.next("heartbeat", serve.events.length);
    inject(["--event", "heartbeat-stall", "--duration-ms", "2500"]);
    await new Promise((r) => setTimeout(r, 300));
    const stallFrom = serve.events.length;
    await new Promise((r) => setTimeout(r, 1800));
    expect(serve.events.slice(stallFrom).some((e) => e.event === "heartbeat")).toBe(false);
    await serve.next("heartbeat", stallFrom);

    inject(["--event", "stream-restart", "--duration-ms", "3000"]);
    inject(["--text", "during the restart", "--sender-name", "Maya"]);
    const caught = await serve.next("message", 0, (e) => e.content === "during the restart");
    expect(caught.catchup).toBe(true);

    const failFrom = serve.events.length;
    inject(["--event", "catchup-error"]);
    inject(["--event", "stream-restart", "--duration-ms", "3000"]);
    inject(["--text", "lost in the gap", "--sender-name", "Maya"]);
    expect(await serve.next("error", failFrom)).toMatchObject({ message: "Failed to catch up messages: transport error" });
    expect(serve.events.some((e) => e.event === "message" && e.content === "lost in the gap")).toBe(false);
    const history = MessagesResult.parse(await json(agent!, ["conversation", "messages", conversationId, "--limit", "5"]));
    expect(history.map((m) => m.content)).toContain("lost in the gap");

    const from = serve.events.length;
    inject(["--event", "stream-error", "--text", "connection reset"]);
    expect(await serve.next("error", from)).toMatchObject({ message: "Message stream ended: connection reset" });
    inject(["--text", "into the void", "--sender-name", "Maya"]);
    await serve.next("heartbeat", serve.events.length); // alive, but deaf
    expect(serve.events.some((e) => e.event === "message" && e.content === "into the void")).toBe(false);
  });

  it("a scheduled explode is announced; an immediate one removes everyone and exits 0", async () => {
    const [scheduled] = await serve.send([{ type: "explode", scheduled: new Date(Date.now() + 3_600_000).toISOString() }]);
    expect(scheduled).toMatchObject({ event: "sent", type: "explode", scheduled: true });
    const [row] = ListResult.parse(await json(agent!, ["conversations", "list"])) as { memberCount: number }[];
    const [now] = await serve.send([{ type: "explode" }]);
    expect(now).toMatchObject({ event: "sent", type: "explode", membersRemoved: row!.memberCount - 1 });
    expect(row!.memberCount).toBeGreaterThan(1);
    expect(await serve.stop()).toBe(true);
    expect(serve.exited).toBe(0);
    expect(readTranscript(agent!.home).map((e) => e.kind)).toEqual(expect.arrayContaining(["explode_scheduled", "explode"]));
  });
});

describe("with the network down", () => {
  const [agent] = installs(1);
  it("network commands exit 2 with the transport error and USAGE, nothing on stdout; offline ones still work", async () => {
    const down = { FAKE_CONVOS_NETWORK_DOWN: "1" };
    const out = await cli(agent!, ["conversations", "create", "--name", "X", "--json"], down);
    expect(out).toMatchObject({ code: 2, stdout: "" });
    expect(out.stderr).toMatch(/^ › {3}Error: \[MessageBackendBuilderError::GrpcBuilder\] transport error\n\nUSAGE\n {2}\$ convos conversations create/u);
    expect((await cli(agent!, ["identity", "list", "--json"], down)).code).toBe(0);
  });

  it("a running serve stops hearing and sending while it is down, then catches up", async () => {
    const { conversationId } = CreateResult.parse(await json(agent!, ["conversations", "create", "--name", "Flaky"]));
    const serve = new Serve(agent!, conversationId);
    await serve.ready();
    fake(agent!, ["fake-inject", conversationId, "--text", "before", "--sender-name", "Maya"]);
    await serve.next("message", 0, (e) => e.content === "before");
    fs.writeFileSync(path.join(agent!.home, "fake-control.json"), JSON.stringify({ FAKE_CONVOS_NETWORK_DOWN: "1" }));
    const [failed] = await serve.send([{ type: "send", text: "hello?" }]);
    expect(failed).toMatchObject({ event: "error", message: expect.stringMatching(/^Command failed: .*transport error/u) });
    fake(agent!, ["fake-inject", conversationId, "--text", "while down", "--sender-name", "Maya"]);
    await new Promise((r) => setTimeout(r, 300));
    expect(serve.events.some((e) => e.event === "message" && e.content === "while down")).toBe(false);
    fs.writeFileSync(path.join(agent!.home, "fake-control.json"), "{}");
    expect(await serve.next("message", 0, (e) => e.content === "while down")).toMatchObject({ catchup: true });
    await serve.stop();
  });
});
