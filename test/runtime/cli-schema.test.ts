// Every command, flag and stdin command the plugin sends to the convos CLI must exist in the
// real CLI's schema (0.10.15), so the plugin cannot drift from the CLI the image ships.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { serveArgs } from "../../runtime-container/plugins/convos/src/agent-serve.ts";
import { ConvosService } from "../../runtime-container/plugins/convos/src/convos-service.ts";
import { CLI_SCHEMA, FAKE_CONVOS, RUNTIME_DIR, fakeConvos, fakeInvite, readTranscript, tempDir, waitFor } from "./support.ts";

type Schema = {
  version: string;
  commonFlags: Record<string, unknown>;
  commands: Record<string, { args?: Record<string, unknown>; flags?: Record<string, { type: string; options?: string[] }>; description: string }>;
};
const schema = JSON.parse(fs.readFileSync(CLI_SCHEMA, "utf8")) as Schema;
process.env.FAKE_CONVOS_SCHEMA = CLI_SCHEMA;

function assertInSchema(command: string, flags: Record<string, unknown>, args: string[]) {
  const spec = schema.commands[command];
  expect(spec, `command ${command}`).toBeDefined();
  for (const [flag, value] of Object.entries(flags)) {
    const def = spec!.flags?.[flag] ?? (schema.commonFlags[flag] as { type: string; options?: string[] } | undefined);
    expect(def, `${command} --${flag}`).toBeDefined();
    for (const v of Array.isArray(value) ? value : [value]) {
      if (def!.options && typeof v === "string") expect(def!.options, `${command} --${flag} ${v}`).toContain(v);
    }
  }
  expect(args.length, `${command} positional args`).toBeLessThanOrEqual(Object.keys(spec!.args ?? {}).length);
}

describe("convos CLI contract", () => {
  it("pins the CLI version the schema describes", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(RUNTIME_DIR, "package.json"), "utf8"));
    expect(pkg.dependencies["@xmtp/convos-cli"]).toBe(schema.version);
  });

  it("uses only commands and flags that exist, across every flow the plugin runs", async () => {
    const dir = tempDir("cli-schema");
    const home = path.join(dir, "convos");
    const service = new ConvosService({
      bin: FAKE_CONVOS,
      home,
      env: "dev",
      stateFile: path.join(dir, "b.json"),
      pool: { poolUrl: undefined, instanceId: undefined, gatewayToken: undefined },
      pendingPollMs: 50,
      joinTimeoutSeconds: 1,
    });
    service.resume(); // registers the identity while idle
    await waitFor(() => service.status().identity.state === "registered", "identity registered");
    await service.create({ name: "n", profileName: "p", description: "d", permissions: "admin-only", profileImage: "https://example.com/a.png", metadata: { tier: "pro", seats: 3 } });
    await waitFor(() => service.status().streaming, "stream");
    await service.lock(false); // then reads the rotated invite
    await service.rename("m");
    await service.reset();
    fs.writeFileSync(path.join(home, "fake-control.json"), JSON.stringify({ FAKE_CONVOS_JOIN_MODE: "pending" }));
    await service.join({ inviteUrl: fakeInvite(home).inviteUrl, profileName: "p", profileImage: "https://example.com/a.png", metadata: { a: true } });
    fakeConvos(home, ["fake-accept"]);
    await waitFor(() => service.status().streaming, "stream after accepted join");
    await service.shutdown();

    const commands = readTranscript(home).filter((e) => e.kind === "command" && !e.command!.startsWith("fake-"));
    expect(new Set(commands.map((c) => c.command))).toEqual(
      new Set(["identity:create", "identity:info", "conversations:create", "agent:serve", "conversation:messages", "conversation:invite", "reset", "conversations:join", "conversations:list"]),
    );
    for (const c of commands) assertInSchema(c.command!, c.flags ?? {}, c.args ?? []);
    // The agent serve flags the issue asks for.
    expect(serveArgs({ conversationId: "c", home: "/h", env: "production", heartbeatSeconds: 30 })).toEqual([
      "agent",
      "serve",
      "c",
      "--heartbeat",
      "30",
      "--json",
      "--env",
      "production",
      "--home",
      "/h",
    ]);
  });

  it("speaks the agent serve ndjson protocol the CLI documents", () => {
    const description = schema.commands["agent:serve"]!.description;
    for (const cmd of ["send", "react", "rename", "lock", "unlock", "explode", "stop"]) expect(description).toContain(`{"type":"${cmd}"`);
    expect(description).toContain(`"action":"remove"`);
    for (const event of ["ready", "message", "member_joined", "sent", "heartbeat", "error"]) expect(description).toContain(`{"event":"${event}"`);
  });

  it("the fake CLI enforces the schema, so the suites cannot pass with a made-up flag", () => {
    expect(() => execFileSync(FAKE_CONVOS, ["conversations", "create", "--json", "--colour", "blue", "--home", tempDir("bogus")], { stdio: "pipe", env: process.env })).toThrow(
      /Nonexistent flag: --colour/u,
    );
  });
});
