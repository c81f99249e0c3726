// Every environment variable the instance reads, parsed once. README.md documents them.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const RUNTIME_ROOT = fileURLToPath(new URL("..", import.meta.url));

export type GatewayMode = "openclaw" | "stub";

export type RuntimeEnv = {
  port: number;
  /** Listen address; unset means every interface (IPv4 and IPv6), as a container needs. */
  host: string | undefined;
  instanceId: string | undefined;
  gatewayToken: string;
  /** False when GATEWAY_TOKEN was missing and a random one was generated for loopback use. */
  gatewayTokenConfigured: boolean;
  poolUrl: string | undefined;
  xmtpEnv: "dev" | "production";
  primaryModel: string;
  stateDir: string;
  convosCli: string | undefined;
  gatewayMode: GatewayMode;
  gatewayModeReason: string;
  gatewayPort: number;
  openclawEntry: string | undefined;
  version: string;
  gatewayBackoffMs: number;
  /** An OpenAI-compatible endpoint to use instead of OpenRouter (local models, tests). */
  devModelUrl: string | undefined;
  /** Another openclaw.template.json to render (the bench compares configs with it); default: the image's. */
  configTemplate: string | undefined;
  providers: { openrouter: boolean; agentmail: boolean; telnyx: boolean; bankr: boolean };
  /** OpenRouter's API root: web search (Sonar) and voice-note transcription go there with the instance's key. */
  openrouterBaseUrl: string;
  /** The Chromium the agent's browser launches (the image's Debian package). */
  chromePath: string;
  /** Private hosts the browser may open anyway (tests serve pages on loopback); empty in production. */
  browserAllowedHosts: string[];
};

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(RUNTIME_ROOT, "package.json"), "utf8")).version as string;
  } catch {
    return "0.0.0";
  }
}

/** The openclaw CLI entry shipped in node_modules, if it is installed. */
/** The image's Chromium (Debian's package, see the Dockerfile); CHROME_PATH overrides it. */
export const DEFAULT_CHROME_PATH = "/usr/bin/chromium";

export function findOpenclawEntry(explicit?: string): string | undefined {
  const candidate = explicit ?? path.join(RUNTIME_ROOT, "node_modules", "openclaw", "openclaw.mjs");
  return fs.existsSync(candidate) ? candidate : undefined;
}

function portFrom(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got ${JSON.stringify(value)}`);
  return n;
}

export function readRuntimeEnv(env: NodeJS.ProcessEnv = process.env): RuntimeEnv {
  const openclawEntry = findOpenclawEntry(env.OPENCLAW_ENTRY);
  const requested = (env.OPENCLAW_GATEWAY ?? "auto").toLowerCase();
  if (!["auto", "openclaw", "stub"].includes(requested)) throw new Error(`OPENCLAW_GATEWAY must be auto, openclaw or stub, got ${JSON.stringify(env.OPENCLAW_GATEWAY)}`);
  let gatewayMode: GatewayMode;
  let gatewayModeReason: string;
  if (requested === "stub") {
    gatewayMode = "stub";
    gatewayModeReason = "OPENCLAW_GATEWAY=stub";
  } else if (openclawEntry) {
    gatewayMode = "openclaw";
    gatewayModeReason = requested === "openclaw" ? "OPENCLAW_GATEWAY=openclaw" : "openclaw is installed";
  } else if (requested === "openclaw") {
    throw new Error("OPENCLAW_GATEWAY=openclaw but openclaw is not installed (run npm install in runtime-container)");
  } else {
    gatewayMode = "stub";
    gatewayModeReason = "openclaw is not installed";
  }
  const xmtp = env.XMTP_ENV ?? "dev";
  if (xmtp !== "dev" && xmtp !== "production") throw new Error(`XMTP_ENV must be dev or production, got ${JSON.stringify(xmtp)}`);
  const model = env.OPENCLAW_PRIMARY_MODEL?.trim() || "anthropic/claude-sonnet-4.5";
  return {
    port: portFrom(env.PORT, 8080, "PORT"),
    host: env.HOST || undefined,
    instanceId: env.INSTANCE_ID || undefined,
    gatewayToken: env.GATEWAY_TOKEN || randomBytes(24).toString("hex"),
    gatewayTokenConfigured: Boolean(env.GATEWAY_TOKEN),
    poolUrl: env.POOL_URL || undefined,
    xmtpEnv: xmtp,
    primaryModel: model.startsWith("openrouter/") ? model : `openrouter/${model}`,
    stateDir: path.resolve(env.STATE_DIR || path.join(os.homedir(), ".convos-agent")),
    convosCli: env.CONVOS_CLI || undefined,
    gatewayMode,
    gatewayModeReason,
    gatewayPort: portFrom(env.OPENCLAW_GATEWAY_PORT, 18789, "OPENCLAW_GATEWAY_PORT"),
    openclawEntry,
    version: env.RUNTIME_VERSION || packageVersion(),
    gatewayBackoffMs: Number(env.GATEWAY_RESTART_BACKOFF_MS) > 0 ? Number(env.GATEWAY_RESTART_BACKOFF_MS) : 1000,
    devModelUrl: env.OPENCLAW_DEV_MODEL_URL || undefined,
    configTemplate: env.OPENCLAW_CONFIG_TEMPLATE ? path.resolve(env.OPENCLAW_CONFIG_TEMPLATE) : undefined,
    providers: {
      openrouter: Boolean(env.OPENROUTER_API_KEY),
      agentmail: Boolean(env.AGENTMAIL_API_KEY && env.AGENTMAIL_INBOX),
      telnyx: Boolean(env.TELNYX_API_KEY && env.TELNYX_PHONE_NUMBER),
      bankr: Boolean(env.BANKR_API_KEY),
    },
    openrouterBaseUrl: (env.OPENROUTER_BASE_URL || "https://openrouter.ai/api/v1").replace(/\/+$/u, ""),
    chromePath: env.CHROME_PATH || DEFAULT_CHROME_PATH,
    browserAllowedHosts: (env.BROWSER_ALLOWED_HOSTS ?? "")
      .split(",")
      .map((h) => h.trim())
      .filter(Boolean),
  };
}
