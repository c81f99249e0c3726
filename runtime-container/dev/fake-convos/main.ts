// A model of the `convos` CLI (@xmtp/convos-cli 0.10.15), the real CLI's twin for tests and
// `npm start`, where no XMTP network is reachable. Built from the real CLI's source and held
// to it by test/contracts/convos-cli-twin.test.ts. It reuses the real CLI's pure modules
// (oclif manifest and error printing, identity store, invites, metadata), keeps the real
// JSON shapes (plugins/convos/src/cli-protocol.ts), exit codes and stderr, and the real
// process costs (latency.ts, FAKE_CONVOS_LATENCY=real|none). State: the install under the
// convos home, the shared "network" under FAKE_CONVOS_NETWORK_DIR (default <home>/fake-network).
//
// Modelled real commands: conversations create|join|list, conversation messages|
// download-attachment|invite, agent serve (every stdin command, every event), identity
// create|list|info|remove, reset; --version, help and schema run the real CLI's oclif itself.
// Any other real command exits 70 naming the gap.
//
// FAKE-ONLY commands (no such command in the real CLI; see fake-only.ts):
//   convos fake-invite [--name N] [--owner-name N]   an app owner's conversation + real invite
//   convos fake-inject [conversationId] …            another member acts / serve misbehaves
//   convos fake-accept                               the owner accepts pending join requests
//   convos fake-transcript                           prints the transcript path
//
// FAKE-ONLY switches (environment, or the same keys in <home>/fake-control.json, re-read on
// every use; see control.ts):
//   FAKE_CONVOS_LATENCY          real (default) | none
//   FAKE_CONVOS_NETWORK_DOWN     1: network commands fail like the real ones offline (exit 2,
//                                transport error + USAGE, after 0.7–2.8 s); serve stops
//                                receiving and its commands fail until it is back
//   FAKE_CONVOS_JOIN_MODE        joined (default: the owner's app accepts) | pending |
//                                invalid | expired
//   FAKE_CONVOS_ACCEPT_AFTER_MS  with pending: the owner accepts this long after the request
//   FAKE_CONVOS_CREATE_FAIL      conversations create fails with this message
//   FAKE_CONVOS_SLOW_START_MS    extra start-up time of every command
//   FAKE_CONVOS_SERVE_CRASH_AFTER_MS  agent serve exits 1 this long after ready
//   FAKE_CONVOS_SERVE_FAIL       not-found: agent serve reports the conversation missing
//   FAKE_CONVOS_SCHEMA           also reject commands/flags missing from this schema JSON
//   FAKE_CONVOS_TRANSCRIPT       transcript path (default <home>/fake-transcript.ndjson)
//   FAKE_CONVOS_NETWORK_DIR      the shared network directory
import fs from "node:fs";
import { CLI_ROOT, CliFailure, printFailureAndExit } from "./failure.ts";
import type { Session } from "./session.ts";

// Loaded on demand: each command pays only for the real CLI modules it uses.
const conversations = () => import("./conversations.ts");
const identity = () => import("./identity.ts");
const fakeOnly = () => import("./fake-only.ts");
const MODELLED: Record<string, (s: Session) => Promise<void>> = {
  "conversations:create": async (s) => (await conversations()).conversationsCreate(s),
  "conversations:join": async (s) => (await conversations()).conversationsJoin(s),
  "conversations:list": async (s) => (await conversations()).conversationsList(s),
  "conversation:messages": async (s) => (await conversations()).conversationMessages(s),
  "conversation:download-attachment": async (s) => (await conversations()).conversationDownloadAttachment(s),
  "conversation:invite": async (s) => (await conversations()).conversationInvite(s),
  "agent:serve": async (s) => (await import("./serve.ts")).agentServe(s),
  "identity:create": async (s) => (await identity()).identityCreate(s),
  "identity:list": async (s) => (await identity()).identityList(s),
  "identity:info": async (s) => (await identity()).identityInfo(s),
  "identity:remove": async (s) => (await identity()).identityRemove(s),
  reset: async (s) => (await identity()).reset(s),
  "fake-invite": async (s) => (await fakeOnly()).fakeInvite(s),
  "fake-inject": async (s) => (await fakeOnly()).fakeInject(s),
  "fake-accept": async (s) => (await fakeOnly()).fakeAccept(s),
  "fake-transcript": async (s) => (await fakeOnly()).fakeTranscript(s),
};

/** Commands whose real implementation needs no XMTP SDK: run the real oclif for them. */
function runsRealOclif(argv: string[]): boolean {
  const first = argv[0];
  return first === undefined || ["--version", "-v", "version", "--help", "-h", "help", "schema"].includes(first) || argv.includes("--help");
}

function checkAgainstSchemaFile(id: string, flags: Record<string, unknown>): void {
  const schemaPath = process.env.FAKE_CONVOS_SCHEMA;
  if (!schemaPath) return;
  const schema = JSON.parse(fs.readFileSync(schemaPath, "utf8"));
  const command = schema.commands[id];
  if (!command) throw new CliFailure(`command ${id.replace(":", " ")} is not in ${schemaPath}`, { exit: 127 });
  for (const name of Object.keys(flags)) {
    if (!command.flags?.[name] && !schema.commonFlags[name]) throw new CliFailure(`Nonexistent flag: --${name}\nSee more help with --help`);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (runsRealOclif(argv)) {
    const { run, flush, handle } = await import("@oclif/core");
    await run(argv, CLI_ROOT).then(
      () => flush(),
      (err) => handle(err),
    );
    return;
  }
  // Loaded after the --version/help shortcut, which must cost what the real one costs.
  const [{ parseArgv, parseFakeOnly }, { record }, { session }] = await Promise.all([import("./argv.ts"), import("./control.ts"), import("./session.ts")]);
  const parsed = argv[0]!.startsWith("fake-") ? parseFakeOnly(argv) : parseArgv(argv);
  if (!parsed.id.startsWith("fake-")) checkAgainstSchemaFile(parsed.id, parsed.flags);
  const s = session(parsed.id, parsed.args, parsed.flags);
  if (parsed.id !== "fake-transcript") record(s.home, { kind: "command", command: parsed.id, args: parsed.args, flags: parsed.flags });
  const command = MODELLED[parsed.id];
  if (!command) {
    process.stderr.write(`fake convos: \`convos ${parsed.id.replace(/:/gu, " ")}\` is a real command this model does not implement\n`);
    process.exit(70);
  }
  await command(s);
}

main().catch(async (err) => {
  if (err instanceof CliFailure) await printFailureAndExit(err);
  process.stderr.write(`fake convos internal error: ${err?.stack ?? err}\n`);
  process.exit(70);
});
