// Which capabilities an instance really has, from the same facts OpenClaw gates on: a
// skill's `metadata.openclaw.requires` (env vars, binaries) in its SKILL.md, and the rendered
// config for what OpenClaw provides itself (the scheduler). Reported in /pool/health so the
// pool's catalog advertises only what agents can do.
import type { Capability } from "../contract/pool-runtime.ts";

export type SkillGate = { name: string; env: string[]; bins: string[] };
type Env = Record<string, string | undefined>;

/**
 * The image's skills and their gates, as their SKILL.md files declare them (a unit test reads
 * the files and compares): for the simulated instances, which cannot read the image.
 */
export const IMAGE_SKILL_GATES: SkillGate[] = [
  { name: "agentmail", env: ["AGENTMAIL_API_KEY", "AGENTMAIL_INBOX"], bins: [] },
  { name: "bankr", env: ["BANKR_API_KEY"], bins: [] },
  { name: "telnyx-cli", env: ["TELNYX_API_KEY", "TELNYX_PHONE_NUMBER"], bins: [] },
];

/** Which capability each image skill provides (skill directory name → capability id). */
export const SKILL_CAPABILITIES: Record<string, Capability> = {
  agentmail: "email",
  "telnyx-cli": "sms",
  bankr: "payments",
};

type RenderedConfig = {
  cron?: { enabled?: boolean };
  plugins?: { entries?: Record<string, { enabled?: boolean }> };
  agents?: { defaults?: { pdfModel?: unknown } };
  tools?: { web?: { search?: { enabled?: boolean } }; media?: { audio?: { enabled?: boolean } } };
  browser?: { enabled?: boolean; executablePath?: string };
};
type Facts = { env: Env; hasBin: (bin: string) => boolean };

/** Capabilities OpenClaw (or our plugin) provides, decided from the rendered config and the facts it depends on. */
export const CONFIG_CAPABILITIES: Array<{ id: Capability; on: (config: RenderedConfig, facts: Facts) => boolean }> = [
  // The convos plugin's reminders tool writes to OpenClaw's scheduler: both must be on.
  { id: "scheduling", on: (c) => c.cron?.enabled !== false && c.plugins?.entries?.convos?.enabled !== false },
  // Search and transcription spend the instance's own OpenRouter key: without one they fail.
  { id: "web-search", on: (c, f) => c.tools?.web?.search?.enabled === true && Boolean(f.env.OPENROUTER_API_KEY?.trim()) },
  { id: "voice", on: (c, f) => c.tools?.media?.audio?.enabled === true && Boolean(f.env.OPENROUTER_API_KEY?.trim()) },
  // OpenClaw launches the configured Chromium; a missing binary means no browser at all.
  { id: "browser", on: (c, f) => c.browser?.enabled === true && Boolean(c.browser.executablePath) && f.hasBin(c.browser.executablePath!) },
  // read/write are always there; PDFs need the pdf tool, which registers only with a pdfModel.
  { id: "files", on: (c) => Boolean(c.agents?.defaults?.pdfModel) },
];

/** Reads the gate of a SKILL.md: the frontmatter's one-line `metadata:` JSON. */
export function parseSkillGate(name: string, skillMd: string): SkillGate {
  const frontmatter = /^---\n([\s\S]*?)\n---/u.exec(skillMd)?.[1] ?? "";
  const line = /^metadata:\s*(\{.*\})\s*$/mu.exec(frontmatter)?.[1];
  let requires: { env?: unknown; bins?: unknown } = {};
  if (line) {
    try {
      requires = (JSON.parse(line) as { openclaw?: { requires?: typeof requires } }).openclaw?.requires ?? {};
    } catch {
      // A malformed line gates nothing here; OpenClaw reports it when it loads the skill.
    }
  }
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  return { name, env: strings(requires.env), bins: strings(requires.bins) };
}

/** OpenClaw's own rule: every required env var set (non-empty), every required binary on PATH. */
export function skillEnabled(gate: SkillGate, env: Env, hasBin: (bin: string) => boolean): boolean {
  return gate.env.every((name) => Boolean(env[name]?.trim())) && gate.bins.every(hasBin);
}

export function instanceCapabilities(input: { config: RenderedConfig; gates: SkillGate[]; env: Env; hasBin: (bin: string) => boolean }): Capability[] {
  const on = new Set<Capability>();
  for (const c of CONFIG_CAPABILITIES) if (c.on(input.config, input)) on.add(c.id);
  for (const gate of input.gates) {
    const id = SKILL_CAPABILITIES[gate.name];
    if (id && skillEnabled(gate, input.env, input.hasBin)) on.add(id);
  }
  return [...on].sort();
}
