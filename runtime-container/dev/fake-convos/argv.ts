// Command lines parsed against the real CLI's own oclif manifest (its commands, args, flags,
// options and env-backed flags), failing with the real parser's messages.
import fs from "node:fs";
import path from "node:path";
import { CLI_ROOT, CliFailure } from "./failure.ts";

type FlagSpec = { name: string; type: "boolean" | "option"; char?: string; multiple?: boolean; options?: string[]; allowNo?: boolean; env?: string; default?: unknown; helpValue?: string };
type ArgSpec = { name: string; required?: boolean; description?: string };
type CommandSpec = { id: string; args: Record<string, ArgSpec>; flags: Record<string, FlagSpec> };

export type Flags = Record<string, string | boolean | string[] | undefined>;
export type Parsed = { id: string; args: string[]; flags: Flags };

let manifest: Record<string, CommandSpec> | undefined;
export function commands(): Record<string, CommandSpec> {
  manifest ??= JSON.parse(fs.readFileSync(path.join(CLI_ROOT, "oclif.manifest.json"), "utf8")).commands;
  return manifest!;
}

const INTEGER_FLAGS = new Set(["timeout", "heartbeat", "limit", "expires-in"]);
const usage = "See more help with --help";

/** Fake-only commands take free-form flags: they are not the real CLI's. */
export function parseFakeOnly(argv: string[]): Parsed {
  const args: string[] = [];
  const flags: Flags = {};
  for (let i = 1; i < argv.length; i++) {
    const token = argv[i]!;
    if (!token.startsWith("--")) {
      args.push(token);
      continue;
    }
    const eq = token.indexOf("=");
    const name = eq === -1 ? token.slice(2) : token.slice(2, eq);
    const next = argv[i + 1];
    if (eq !== -1) flags[name] = token.slice(eq + 1);
    else if (next === undefined || next.startsWith("--")) flags[name] = true;
    else flags[name] = argv[++i]!;
  }
  return { id: argv[0]!, args, flags };
}

export function parseArgv(argv: string[]): Parsed {
  const all = commands();
  const positionalsBeforeFlag: string[] = [];
  for (const token of argv) {
    if (token.startsWith("-")) break;
    positionalsBeforeFlag.push(token);
  }
  let id = "";
  let consumed = 0;
  for (let n = Math.min(positionalsBeforeFlag.length, 3); n > 0; n--) {
    const candidate = positionalsBeforeFlag.slice(0, n).join(":");
    if (all[candidate]) {
      id = candidate;
      consumed = n;
      break;
    }
  }
  const spec = all[id];
  if (!spec || (Object.keys(spec.args ?? {}).length === 0 && positionalsBeforeFlag.length > consumed)) {
    const words = positionalsBeforeFlag.join(" ");
    const topic = positionalsBeforeFlag.length > 1 ? ` ${positionalsBeforeFlag[0]}` : "";
    throw new CliFailure(`Run convos help${topic} for a list of available commands.`, { exit: 127, warnings: [`${words} is not a convos command.`] });
  }
  const byChar = new Map(
    Object.values(spec.flags)
      .filter((f) => f.char)
      .map((f) => [f.char!, f]),
  );
  const args: string[] = [];
  const flags: Flags = {};
  const rest = argv.slice(consumed);
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (token === "--") {
      args.push(...rest.slice(i + 1));
      break;
    }
    let flag: FlagSpec | undefined;
    let inline: string | undefined;
    let negated = false;
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      const name = eq === -1 ? token.slice(2) : token.slice(2, eq);
      inline = eq === -1 ? undefined : token.slice(eq + 1);
      flag = spec.flags[name];
      if (!flag && name.startsWith("no-") && spec.flags[name.slice(3)]?.allowNo) {
        flag = spec.flags[name.slice(3)];
        negated = true;
      }
      if (!flag) throw new CliFailure(`Nonexistent flag: --${name}\n${usage}`);
    } else if (/^-[a-zA-Z]$/u.test(token)) {
      flag = byChar.get(token[1]!);
      if (!flag) throw new CliFailure(`Nonexistent flag: ${token}\n${usage}`);
    } else {
      args.push(token);
      continue;
    }
    if (flag.type === "boolean") {
      flags[flag.name] = !negated;
      if (inline !== undefined) args.push(inline);
      continue;
    }
    const next = rest[i + 1];
    if (inline === undefined && (next === undefined || (next.startsWith("-") && next.length > 1))) throw new CliFailure(`Flag --${flag.name} expects a value`);
    const value = inline ?? rest[++i]!;
    if (flag.options && !flag.options.includes(value)) {
      throw new CliFailure(`Expected --${flag.name}=${value} to be one of: ${flag.options.join(", ")}\n${usage}`);
    }
    if (INTEGER_FLAGS.has(flag.name) && !/^-?\d+$/u.test(value)) {
      throw new CliFailure(`Parsing --${flag.name} \n\tExpected an integer but received: ${value}\n${usage}`);
    }
    if (flag.multiple) ((flags[flag.name] ??= []) as string[]).push(value);
    else flags[flag.name] = value;
  }
  const argSpecs = Object.values(spec.args ?? {});
  if (args.length > argSpecs.length) throw new CliFailure(`Unexpected argument: ${args[argSpecs.length]}\n${usage}`);
  const missing = argSpecs.slice(args.length).filter((a) => a.required);
  if (missing.length > 0) {
    // @oclif/core parser/errors.js RequiredArgsError, with ux/list's two columns.
    const width = Math.max(...missing.map((a) => a.name.length));
    const lines = missing.map((a) => `${a.name.padEnd(width)}  ${a.description ?? ""}`.trimEnd());
    let message = `Missing ${missing.length} required arg${missing.length === 1 ? "" : "s"}:\n${lines.join("\n")}`;
    const multiple = Object.values(spec.flags)
      .filter((f) => f.multiple)
      .map((f) => `--${f.name}`);
    if (multiple.length > 0) {
      message += `\n\nNote: ${multiple.join(", ")} allow${multiple.length === 1 ? "s" : ""} multiple values. Because of this you need to provide all arguments before providing ${multiple.length === 1 ? "that flag" : "those flags"}.`;
      message += '\nAlternatively, you can use "--" to signify the end of the flags and the beginning of arguments.';
    }
    throw new CliFailure(`${message}\n${usage}`);
  }
  // Env-backed flags (CONVOS_HOME, CONVOS_ATTESTATION…) as oclif resolves them.
  for (const f of Object.values(spec.flags)) {
    if (flags[f.name] === undefined && f.env && process.env[f.env]) flags[f.name] = process.env[f.env];
  }
  return { id, args, flags };
}

export const str = (flags: Flags, name: string): string | undefined => {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
};
export const bool = (flags: Flags, name: string): boolean => flags[name] === true;
export const list = (flags: Flags, name: string): string[] => {
  const v = flags[name];
  return Array.isArray(v) ? v : [];
};
