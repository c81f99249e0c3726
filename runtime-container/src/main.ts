// Entry point of an agent instance: `node runtime-container/src/main.ts` (Node 24).
// Lays out the state volume, starts and supervises the gateway, serves $PORT, and on
// SIGTERM stops everything it started.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resolveConvosBin } from "../plugins/convos/src/settings.ts";
import fs from "node:fs";
import { instanceCapabilities } from "./capabilities.ts";
import { binOnPath, readSkillGates } from "./skill-gates.ts";
import { readRuntimeEnv } from "./env.ts";
import { createFrontApp } from "./front-app.ts";
import { GatewaySupervisor } from "./gateway-supervisor.ts";
import { PluginClient } from "./plugin-client.ts";
import { ReadinessProbe } from "./readiness.ts";
import { createFrontServer } from "./server.ts";
import { portIsFree, prepareState, resolveGatewayPort, setGatewayPort, stateLayout } from "./state-layout.ts";

const startedAt = Date.now();
const log = (line: string) => process.stdout.write(`[runtime] ${line}\n`);

async function main(): Promise<void> {
  const env = readRuntimeEnv();
  const layout = stateLayout(env.stateDir);
  let gatewayPort = await resolveGatewayPort(env.gatewayPort);
  // Tells our gateway's answers from those of any other process on its port.
  const bootId = randomUUID();
  const convosCli = env.convosCli ?? resolveConvosBin();
  prepareState(env, layout, gatewayPort, convosCli);

  const gatewayEnv: NodeJS.ProcessEnv = {
    ...process.env,
    GATEWAY_TOKEN: env.gatewayToken,
    STATE_DIR: env.stateDir,
    XMTP_ENV: env.xmtpEnv,
    OPENCLAW_STATE_DIR: layout.openclawStateDir,
    OPENCLAW_CONFIG_PATH: layout.openclawConfigPath,
    CONVOS_HOME: layout.convosHome,
    CONVOS_CLI: convosCli,
    WORKSPACE_DIR: layout.workspaceDir,
    RUNTIME_BOOT_ID: bootId,
  };
  // The gateway's environment is what OpenClaw gates skills on; the same facts decide the list.
  const capabilities = instanceCapabilities({
    config: JSON.parse(fs.readFileSync(layout.openclawConfigPath, "utf8")),
    gates: readSkillGates(layout.skillsDir),
    env: gatewayEnv,
    hasBin: (bin) => binOnPath(bin, gatewayEnv.PATH),
  });
  const gatewayArgs = env.gatewayMode === "openclaw" ? [env.openclawEntry as string, "gateway", "run"] : [path.join(path.dirname(fileURLToPath(import.meta.url)), "stub-gateway.ts")];
  const supervisor = new GatewaySupervisor({
    command: process.execPath,
    args: gatewayArgs,
    env: gatewayEnv,
    cwd: layout.stateDir,
    initialBackoffMs: env.gatewayBackoffMs,
    log,
    // A port chosen automatically is only free when chosen: if another process took it before
    // the gateway bound it, the gateway can never start there. Choose again.
    beforeRestart: async () => {
      if (env.gatewayPort !== 0 || (await portIsFree(gatewayPort))) return;
      const taken = gatewayPort;
      gatewayPort = await resolveGatewayPort(0);
      setGatewayPort(layout.openclawConfigPath, gatewayPort);
      log(`gateway port ${taken} is held by another process; the gateway moves to ${gatewayPort}`);
    },
  });
  const plugin = new PluginClient(() => `http://127.0.0.1:${gatewayPort}`, env.gatewayToken);
  const readiness = new ReadinessProbe(supervisor, plugin, undefined, bootId);
  const app = createFrontApp({
    version: env.version,
    capabilities,
    xmtpEnv: env.xmtpEnv,
    gatewayToken: env.gatewayToken,
    workspaceDir: layout.workspaceDir,
    plugin,
    readiness,
    pool: { poolUrl: env.poolUrl, instanceId: env.instanceId, gatewayToken: env.gatewayToken },
    log,
  });
  const server = createFrontServer(app as never, () => ({ host: "127.0.0.1", port: gatewayPort }));

  log(`version ${env.version}; gateway: ${env.gatewayMode} (${env.gatewayModeReason}) on 127.0.0.1:${gatewayPort}; XMTP ${env.xmtpEnv}; state ${env.stateDir}`);
  log(`convos CLI: ${convosCli}`);
  log(`capabilities: ${capabilities.join(", ") || "none"}`);
  const missing = Object.entries(env.providers)
    .filter(([, on]) => !on)
    .map(([name]) => name);
  if (missing.length) log(`not configured (their skills will say so): ${missing.join(", ")}`);
  if (!env.gatewayTokenConfigured) log("GATEWAY_TOKEN is not set: using a random token, so /pool/provision and /convos/* cannot be called from outside");

  // Listen before starting the gateway: if the port is taken there must be no gateway left
  // behind without a front server.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(env.port, env.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  log(`front server listening on :${env.port}`);
  supervisor.start();
  // Whatever kills this process must not orphan the gateway tree.
  const emergencyStop = (err: unknown) => {
    process.stderr.write(`[runtime] fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
    supervisor.killNow();
    process.exit(1);
  };
  process.on("uncaughtException", emergencyStop);
  process.on("unhandledRejection", emergencyStop);

  // Log the first moment the instance is ready: that is the boot time the pool waits for.
  let reportedReady = false;
  const readyTimer = setInterval(async () => {
    const r = await readiness.check();
    if (r.ready && !reportedReady) {
      reportedReady = true;
      clearInterval(readyTimer);
      log(`ready ${Date.now() - startedAt} ms after start`);
    }
  }, 250);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(readyTimer);
    log(`${signal}: stopping`);
    server.close();
    server.closeAllConnections();
    await supervisor.stop();
    log("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  process.stderr.write(`[runtime] failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
