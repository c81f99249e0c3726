// Holds the CLI model (runtime-container/dev/fake-convos) to the real @xmtp/convos-cli
// 0.10.15 wherever the real one runs without an XMTP network: the same bytes on stdout and
// stderr, the same exit codes, and JSON both sides of the plugin's schema module accept.
// The real CLI runs in a Debian trixie root (support/convos-cli-root.ts), so this needs root
// (CI runs as root); elsewhere the suite is skipped with the reason printed.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_TYPES, IdentityCreateResult, IdentityListResult, ListResult, ResetResult, VERSION_LINE } from "../../runtime-container/plugins/convos/src/cli-protocol.ts";
import { NETWORK_FAILURE_TOTAL_MS } from "../../runtime-container/dev/fake-convos/latency.ts";
import { ensureRoot, startClis, unavailableReason, type CliRun, type Clis } from "./support/convos-cli-root.ts";

const reason = unavailableReason();
if (reason) console.warn(`convos CLI twin contract skipped: ${reason}`);

/** Values that differ between any two runs (ids, keys, addresses, times) → placeholders. */
function masked(text: string): string {
  return text
    .replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\b/gu, "<time>")
    .replace(/0x[0-9a-fA-F]{40}\b/gu, "<address>")
    .replace(/\b[0-9a-f]{64}\b/gu, "<hex64>")
    .replace(/\b[0-9a-f]{32}\b/gu, "<hex32>");
}

function expectSame(model: CliRun, real: CliRun, what: string) {
  expect({ code: model.code, stdout: masked(model.stdout), stderr: masked(model.stderr) }, what).toEqual({
    code: real.code,
    stdout: masked(real.stdout),
    stderr: masked(real.stderr),
  });
}

// Each case runs a dozen CLI processes of ~0.5–3 s each.
describe.skipIf(reason !== null)("the convos CLI model is the real CLI's twin", { timeout: 180_000 }, () => {
  let clis: Clis;
  let root: string;
  /** Runs the same command line through both, each with its own fresh (same-named) home. */
  const both = async (args: (home: string) => string[], homes?: { model: string; real: string }) => {
    // Concurrently: the model's home is on the host, the real one's inside the root.
    const [model, real] = await Promise.all([clis.model(args(homes?.model ?? "")), clis.real(args(homes?.real ?? ""))]);
    return { model, real };
  };
  /** One home path used by both (the real one's lives inside the root). */
  const sharedHome = () => {
    const home = clis.home();
    return { model: home, real: home };
  };

  beforeAll(() => {
    root = ensureRoot((line) => console.log(line));
    clis = startClis(root);
  }, 20 * 60_000);
  afterAll(() => clis?.close());

  it("prints the same --version line and the same schema", async () => {
    const version = await both(() => ["--version"]);
    expect(version.real.stdout.trim()).toMatch(VERSION_LINE);
    expectSame(version.model, version.real, "--version");
    for (const args of [["schema"], ["schema", "agent:serve"], ["schema", "conversations:join"]]) {
      const out = await both(() => args);
      expect(out.real.code).toBe(0);
      expectSame(out.model, out.real, args.join(" "));
    }
  });

  it("names content types as the real CLI's XMTP bindings do", async () => {
    const probe = await clis.node(
      (modules) => `
      const b = await import("${modules}/@xmtp/node-sdk/node_modules/@xmtp/node-bindings/dist/index.js");
      console.log(JSON.stringify({ text: b.contentTypeText(), markdown: b.contentTypeMarkdown(), reply: b.contentTypeReply(),
        reaction: b.contentTypeReaction(), groupUpdated: b.contentTypeGroupUpdated(), attachment: b.contentTypeAttachment(),
        remoteAttachment: b.contentTypeRemoteAttachment(), multiRemoteAttachment: b.contentTypeMultiRemoteAttachment(),
        readReceipt: b.contentTypeReadReceipt() }));`,
    );
    expect(probe.code, probe.stderr).toBe(0);
    const real = JSON.parse(probe.stdout) as Record<string, unknown>;
    expect(Object.fromEntries(Object.keys(real).map((k) => [k, CONTENT_TYPES[k as keyof typeof CONTENT_TYPES]]))).toEqual(real);
  });

  it("creates and lists the identity offline with the same JSON", async () => {
    const homes = sharedHome();
    const none = await both((h) => ["identity", "list", "--json", "--home", h], homes);
    expect(IdentityListResult.parse(JSON.parse(none.real.stdout))).toEqual({ message: "No identity found. Create one with: convos identity create", count: 0 });
    expectSame(none.model, none.real, "identity list without identity");

    const created = await both((h) => ["identity", "create", "--json", "--profile-name", "Ava", "--home", h], homes);
    IdentityCreateResult.parse(JSON.parse(created.real.stdout));
    IdentityCreateResult.parse(JSON.parse(created.model.stdout));
    expectSame(created.model, created.real, "identity create");
    // The model stores the identity with the real CLI's own store: the same file.
    const stored = (dir: string) => Object.keys(JSON.parse(fs.readFileSync(path.join(dir, "identity.json"), "utf8"))).sort();
    expect(stored(homes.model)).toEqual(stored(path.join(root, homes.real)));

    const again = await both((h) => ["identity", "create", "--json", "--home", h], homes);
    expect(again.real).toMatchObject({ code: 2, stdout: "" });
    expect(again.real.stderr).toContain("Error: An identity already exists for this install.");
    expectSame(again.model, again.real, "identity create twice");

    const listed = await both((h) => ["identity", "list", "--json", "--home", h], homes);
    expect(IdentityListResult.parse(JSON.parse(listed.real.stdout))).toMatchObject([{ inboxId: "(not yet registered)", profileName: "Ava" }]);
    IdentityListResult.parse(JSON.parse(listed.model.stdout));
    expectSame(listed.model, listed.real, "identity list");

    const conversations = await both((h) => ["conversations", "list", "--json", "--home", h], sharedHome());
    ListResult.parse(JSON.parse(conversations.real.stdout));
    expectSame(conversations.model, conversations.real, "conversations list with no identity");
  });

  it("resets the same way: nothing to reset, confirmation required, what was removed", async () => {
    const homes = sharedHome();
    const empty = await both((h) => ["reset", "--json", "--home", h], homes);
    ResetResult.parse(JSON.parse(empty.real.stdout));
    expectSame(empty.model, empty.real, "reset of an empty home");
    await both((h) => ["identity", "create", "--json", "--home", h], homes);
    const unconfirmed = await both((h) => ["reset", "--json", "--home", h], homes);
    expect(unconfirmed.real).toMatchObject({ code: 2, stdout: "" });
    expectSame(unconfirmed.model, unconfirmed.real, "reset without --force");
    const done = await both((h) => ["reset", "--force", "--json", "--home", h], homes);
    expect(ResetResult.parse(JSON.parse(done.real.stdout))).toMatchObject({ identityRemoved: true });
    ResetResult.parse(JSON.parse(done.model.stdout));
    expectSame(done.model, done.real, "reset --force");
    expect(fs.existsSync(path.join(homes.model, "identity.json"))).toBe(false);
  });

  it("rejects malformed invites in conversations join like the real CLI: exit 2, the parser's error, USAGE, nothing on stdout", async () => {
    for (const invite of ["garbage", "https://dev.convos.org/v2?i=garbage", "https://example.com/x", "hello world!", "https://dev.convos.org/v2?i=Cn0KPwGveCte"]) {
      const out = await both((h) => ["conversations", "join", invite, "--json", "--home", h], sharedHome());
      expect(out.real.code, invite).toBe(2);
      expect(out.real.stdout, invite).toBe("");
      expectSame(out.model, out.real, `join ${invite}`);
    }
    const protobuf = await both((h) => ["conversations", "join", "https://dev.convos.org/v2?i=garbage", "--json", "--home", h], sharedHome());
    expect(protobuf.real.stderr).toMatch(/^ › {3}Error: index out of range: 4 \+ 8 > 5\n\nUSAGE\n {2}\$ convos conversations join INVITE/u);
  });

  it("accepts the model's invites as real ones: the real CLI parses them and then needs the network", async () => {
    const owner = clis.home();
    const made = await clis.model(["fake-invite", "--name", "Lisbon", "--home", owner], { FAKE_CONVOS_NETWORK_DOWN: "" });
    const { inviteUrl } = JSON.parse(made.stdout) as { inviteUrl: string };
    const out = await both((h) => ["conversations", "join", inviteUrl, "--json", "--home", h], sharedHome());
    expect(out.real.stdout).toMatch(/^Invite parsed: tag=\w{10} name="Lisbon" creator=[0-9a-f]{12}\.\.\.\n$/u);
    expect(out.real.code).toBe(2);
    expectSame(out.model, out.real, "join of a valid invite offline");
  });

  it("reports command-line mistakes with the real parser's messages and exit codes", async () => {
    const cases = [
      ["conversations", "create", "--colour", "blue"],
      ["conversations", "create", "--permissions", "everyone"],
      ["conversations", "create", "--name"],
      ["conversations", "join"],
      ["conversations", "join", "--timeout", "soon", "x"],
      ["conversation", "download-attachment"],
      ["agent", "serve", "a", "b"],
      ["conversations", "list", "extra"],
      ["nope"],
    ];
    for (const args of cases) {
      const out = await both((h) => [...args, "--home", h], sharedHome());
      expect(out.real.code, args.join(" ")).not.toBe(0);
      expectSame(out.model, out.real, args.join(" "));
    }
  });

  it("fails every network command offline like the real CLI: exit 2, transport error with USAGE, no JSON", async () => {
    const homes = sharedHome();
    await both((h) => ["identity", "create", "--json", "--home", h], homes);
    const id = "0123456789abcdef0123456789abcdef";
    const commands = [
      ["conversations", "create", "--name", "Trip", "--profile-name", "Ava", "--permissions", "admin-only"],
      ["conversations", "list", "--sync"],
      ["conversation", "messages", id, "--sync", "--direction", "ascending"],
      ["conversation", "download-attachment", id, "m1"],
      ["conversation", "invite", id],
      ["agent", "serve", id, "--heartbeat", "30", "--profile-name", "Ava"],
      ["identity", "info"],
    ];
    for (const args of commands) {
      const out = await both((h) => [...args, "--json", "--env", "dev", "--home", h], homes);
      expect(out.real.code, args.join(" ")).toBe(2);
      expect(out.real.stdout, args.join(" ")).toBe("");
      expect(out.real.stderr, args.join(" ")).toMatch(/^ › {3}Error: \[MessageBackendBuilderError::GrpcBuilder\] transport error\n\nUSAGE\n/u);
      expectSame(out.model, out.real, args.join(" "));
    }
  });

  it("takes as long to fail offline as the model's real-latency mode says", async () => {
    const homes = sharedHome();
    await both((h) => ["identity", "create", "--json", "--home", h], homes);
    const args = (h: string) => ["conversations", "create", "--name", "Trip", "--json", "--home", h];
    const real: number[] = [];
    const model: number[] = [];
    for (let i = 0; i < 2; i++) {
      real.push((await clis.real(args(homes.real))).ms);
      model.push((await clis.model(args(homes.model), { FAKE_CONVOS_LATENCY: "real" })).ms);
    }
    console.log(`offline failure of conversations create: real ${real.join(", ")} ms, model ${model.join(", ")} ms (model range ${NETWORK_FAILURE_TOTAL_MS.join("–")} ms)`);
    // Not a performance test: the real one must not hang, and the model must not be instant.
    for (const ms of real) expect(ms).toBeLessThan(NETWORK_FAILURE_TOTAL_MS[1] * 3);
    for (const ms of model) expect(ms).toBeGreaterThanOrEqual(NETWORK_FAILURE_TOTAL_MS[0]);
  });
});
