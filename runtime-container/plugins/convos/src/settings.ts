// Where the plugin's settings come from: plugin config (rendered by the front server),
// channel config, then the environment the gateway was started with.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import type { ConvosServiceOptions, XmtpEnv } from "./convos-service.ts";

export type PluginConfig = { convosHome?: string; stateFile?: string; workspaceDir?: string; cliPath?: string };
export type ChannelConfig = { enabled?: boolean; env?: XmtpEnv; heartbeatSeconds?: number };

/** The convos executable: CONVOS_CLI, else the one installed with @xmtp/convos-cli. */
export function resolveConvosBin(explicit?: string, processEnv: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return explicit;
  if (processEnv.CONVOS_CLI) return processEnv.CONVOS_CLI;
  // The package's exports map hides its bin file from require.resolve; look it up on disk.
  const lookup = createRequire(import.meta.url).resolve.paths("@xmtp/convos-cli") ?? [];
  for (const dir of lookup) {
    const bin = path.join(dir, "@xmtp", "convos-cli", "bin", "run.js");
    if (fs.existsSync(bin)) return bin;
  }
  return "convos";
}

export function resolveServiceOptions(
  pluginConfig: PluginConfig | undefined,
  channelConfig: ChannelConfig | undefined,
  processEnv: NodeJS.ProcessEnv = process.env,
  log?: (line: string) => void,
): ConvosServiceOptions {
  const stateDir = processEnv.STATE_DIR ?? path.join(os.homedir(), ".convos-agent");
  const home = pluginConfig?.convosHome ?? processEnv.CONVOS_HOME ?? path.join(stateDir, "convos");
  const env: XmtpEnv = channelConfig?.env ?? (processEnv.XMTP_ENV === "production" ? "production" : "dev");
  return {
    bin: resolveConvosBin(pluginConfig?.cliPath, processEnv),
    home,
    env,
    stateFile: pluginConfig?.stateFile ?? path.join(stateDir, "convos-binding.json"),
    workspaceDir: pluginConfig?.workspaceDir ?? processEnv.WORKSPACE_DIR,
    heartbeatSeconds: channelConfig?.heartbeatSeconds ?? 30,
    pool: { poolUrl: processEnv.POOL_URL, instanceId: processEnv.INSTANCE_ID, gatewayToken: processEnv.GATEWAY_TOKEN },
    serveBackoff: processEnv.CONVOS_SERVE_BACKOFF_MS ? { initialMs: Number(processEnv.CONVOS_SERVE_BACKOFF_MS), maxMs: Number(processEnv.CONVOS_SERVE_BACKOFF_MS) * 32 } : undefined,
    // Tests shorten the heartbeat so a stalled stream is noticed in seconds.
    ...(processEnv.CONVOS_HEARTBEAT_SECONDS ? { heartbeatSeconds: Number(processEnv.CONVOS_HEARTBEAT_SECONDS) } : {}),
    preregister: processEnv.CONVOS_PREREGISTER !== "off",
    registerBackoff: processEnv.CONVOS_REGISTER_BACKOFF_MS ? { initialMs: Number(processEnv.CONVOS_REGISTER_BACKOFF_MS), maxMs: Number(processEnv.CONVOS_REGISTER_BACKOFF_MS) * 32 } : undefined,
    pendingPollMs: processEnv.CONVOS_PENDING_POLL_MS ? Number(processEnv.CONVOS_PENDING_POLL_MS) : undefined,
    joinTimeoutSeconds: processEnv.CONVOS_JOIN_TIMEOUT_SECONDS ? Number(processEnv.CONVOS_JOIN_TIMEOUT_SECONDS) : undefined,
    log,
  };
}
