// What every modelled command shares: its parsed command line, the install and network it
// works on, ConvosBaseCommand's output rules, and the cost of getting an XMTP client.
import os from "node:os";
import path from "node:path";
import { type Flags, str } from "./argv.ts";
import { control, type Control } from "./control.ts";
import { CliFailure, thrown, TRANSPORT_ERROR } from "./failure.ts";
import { Install, type Env } from "./install.ts";
import { COMMAND_START_MS, NETWORK_FAILURE_TOTAL_MS, draw, roundTrips, untilSinceStart } from "./latency.ts";
import { Network } from "./network.ts";

export type Session = {
  id: string;
  args: string[];
  flags: Flags;
  home: string;
  env: Env;
  json: boolean;
  install: Install;
  network: Network;
  control: () => Control;
};

export function session(id: string, args: string[], flags: Flags): Session {
  const home = str(flags, "home") ?? process.env.CONVOS_HOME ?? path.join(os.homedir(), ".convos");
  const envName = str(flags, "env") ?? (["local", "dev", "production"].includes(process.env.CONVOS_ENV ?? "") ? process.env.CONVOS_ENV : "dev");
  const env = envName as Env;
  return {
    id,
    args,
    flags,
    home,
    env,
    json: flags.json === true || flags.fields !== undefined || process.env.CONVOS_JSON_OUTPUT === "true",
    install: new Install(home, env),
    network: new Network(home),
    control: () => control(home),
  };
}

/** baseCommand.js output(): pretty JSON with --json, else formatHuman(). */
export function output(s: Session, data: unknown): void {
  const text = s.json ? JSON.stringify(data, null, 2) : formatHuman(data);
  process.stdout.write(text + "\n");
}

/** this.log(): progress lines go to stdout even in --json mode. */
export function log(line: string): void {
  process.stdout.write(line + "\n");
}

/** this.warn(): oclif's warning format on stderr. */
export async function warn(message: string): Promise<void> {
  const { Errors } = await import("@oclif/core");
  Errors.warn(message);
}

/** The time the real command spends before it does anything: oclif boot + XMTP SDK load. */
export async function commandStart(s: Session): Promise<void> {
  await untilSinceStart(draw(COMMAND_START_MS) + s.control().slowStartMs);
}

/**
 * utils/client.js getClient(): the identity is created if missing, the database directory
 * made, then the XMTP node is dialled — which fails, when the network is down, with the
 * transport error after the real CLI's observed delay.
 */
export async function connect(s: Session, opts: { started?: boolean } = {}) {
  if (!opts.started) await commandStart(s);
  if (s.control().networkDown) {
    s.install.store.loadOrUpsert();
    await import("node:fs").then((fs) => fs.mkdirSync(path.dirname(s.install.dbPath), { recursive: true }));
    await untilSinceStart(draw(NETWORK_FAILURE_TOTAL_MS));
    throw thrown(TRANSPORT_ERROR);
  }
  const client = s.install.client();
  await roundTrips(2);
  return client;
}

export function uploadProviderConfigured(): boolean {
  return Boolean(process.env.CONVOS_UPLOAD_PROVIDER || process.env.CONVOS_API_KEY);
}

/** `this.error(message)` inside a command: printed without the USAGE block. */
export const commandError = (message: string) => new CliFailure(message);

function formatHuman(data: unknown, indent = 0): string {
  const prefix = " ".repeat(indent);
  if (data === null || data === undefined) return "";
  if (typeof data !== "object") return prefix + String(data);
  if (Array.isArray(data)) {
    if (data.length === 0) return prefix + "(empty)";
    if (typeof data[0] === "object" && data[0] !== null) {
      const rows = data as Record<string, unknown>[];
      const keys = Object.keys(rows[0]!);
      const cell = (v: unknown) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
      const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r[k]).length)));
      const line = (cells: string[]) => prefix + cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
      return [line(keys), prefix + widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => line(keys.map((k) => cell(r[k]))))].join("\n");
    }
    return data.map((d) => formatHuman(d, indent)).join("\n");
  }
  const entries = Object.entries(data).filter(([, v]) => v !== undefined && v !== null && v !== "");
  if (entries.length === 0) return "";
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${prefix}${k.padEnd(width)}  ${formatHuman(v)}`).join("\n");
}
