// The plugin ↔ CLI schema module against the real CLI's own documentation of its protocol,
// and the decision that tells an answer to a command from a stream problem (the real CLI
// gives answers no request id).
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { COMMAND_VALIDATION_ERRORS, STREAM_ERROR_PREFIXES, ServeCommand, ServeEvent, classifyServeError } from "../../runtime-container/plugins/convos/src/cli-protocol.ts";
import { CLI_SCHEMA } from "./support.ts";

const serveDescription: string = JSON.parse(fs.readFileSync(CLI_SCHEMA, "utf8")).commands["agent:serve"].description;

describe("cli-protocol.ts against the real CLI's agent serve documentation", () => {
  it("accepts every stdin command the real CLI documents", () => {
    const examples = serveDescription
      .split("\n")
      .map((l) => /^\s*(\{"type".*\})(?:\s|$)/u.exec(l)?.[1])
      .filter((l): l is string => Boolean(l));
    expect(examples.length).toBeGreaterThanOrEqual(17);
    for (const line of examples) expect(ServeCommand.safeParse(JSON.parse(line)).success, line).toBe(true);
  });

  it("knows every stdout event the real CLI documents", () => {
    const documented = [...serveDescription.matchAll(/\{"event":"(\w+)"/gu)].map((m) => m[1]);
    type Node = { options?: Node[]; shape?: { event: { value: string } } };
    const names = (n: Node): string[] => (n.options ? n.options.flatMap(names) : [n.shape!.event.value]);
    const known = new Set(names(ServeEvent as unknown as Node));
    for (const name of documented) expect(known, name).toContain(name);
  });

  it("rejects commands the CLI would refuse or misread", () => {
    expect(ServeCommand.safeParse({ type: "send" }).success).toBe(false);
    expect(ServeCommand.safeParse({ type: "react", messageId: "m", emoji: "👍", action: "toggle" }).success).toBe(false);
    expect(ServeCommand.safeParse({ type: "send", text: "hi", reply_to: "m" }).success).toBe(false);
  });
});

describe("classifyServeError", () => {
  it("answers to a command: validation errors, thrown failures, unknown types", () => {
    for (const message of COMMAND_VALIDATION_ERRORS) expect(classifyServeError({ message }), message).toBe("command");
    expect(classifyServeError({ message: "Command failed: insufficient permissions", command: { type: "lock" } })).toBe("command");
    expect(classifyServeError({ message: "Unknown command type: dance" })).toBe("command");
    expect(classifyServeError({ message: "Invalid scheduled date: tomorrow" })).toBe("command");
  });

  it("stream and start-up trouble answers no command; bad JSON answers out of order", () => {
    for (const prefix of STREAM_ERROR_PREFIXES) expect(classifyServeError({ message: `${prefix}connection reset` }), prefix).toBe("stream");
    expect(classifyServeError({ message: "Invalid JSON on stdin", input: "{" })).toBe("input");
  });
});
