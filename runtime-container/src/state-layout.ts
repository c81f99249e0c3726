// Where an instance keeps its state (one volume: STATE_DIR) and how it is laid out on boot:
// the OpenClaw config rendered from the template, the workspace seeded from the image.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { RUNTIME_ROOT, type RuntimeEnv } from "./env.ts";

export type StateLayout = {
  stateDir: string;
  openclawStateDir: string;
  openclawConfigPath: string;
  workspaceDir: string;
  convosHome: string;
  bindingFile: string;
  templateDir: string;
  skillsDir: string;
  pluginDir: string;
  /** OpenClaw's own Perplexity web-search plugin (npm) as the image installs it. */
  perplexityPluginPackage: string;
  /**
   * The copy of that package the gateway loads (plugins.load.paths), pointed at OpenRouter's
   * Sonar models. OpenClaw refuses any non-bundled plugin file with more than one hard link and
   * then treats the plugin as missing: it tries to download it from ClawHub at boot and web
   * search ends up with no provider. node_modules installs may hard-link (`cp -al` checkouts,
   * pnpm's store), so the runtime loads its own single-link copy instead.
   */
  perplexityPluginDir: string;
};

export function stateLayout(stateDir: string): StateLayout {
  return {
    stateDir,
    openclawStateDir: path.join(stateDir, "openclaw"),
    openclawConfigPath: path.join(stateDir, "openclaw", "openclaw.json"),
    workspaceDir: path.join(stateDir, "workspace"),
    convosHome: path.join(stateDir, "convos"),
    bindingFile: path.join(stateDir, "convos-binding.json"),
    templateDir: path.join(RUNTIME_ROOT, "openclaw"),
    skillsDir: path.join(RUNTIME_ROOT, "openclaw", "skills"),
    pluginDir: path.join(RUNTIME_ROOT, "plugins", "convos"),
    perplexityPluginPackage: path.join(RUNTIME_ROOT, "node_modules", "@openclaw", "perplexity-plugin"),
    perplexityPluginDir: path.join(stateDir, "image-plugins", "perplexity"),
  };
}

/** Replaces {{NAME}} placeholders inside JSON string values; unknown names are an error. */
export function renderTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{([A-Z0-9_]+)\}\}/gu, (_, name: string) => {
    if (!(name in vars)) throw new Error(`openclaw config template uses unknown placeholder {{${name}}}`);
    // JSON-escape without the surrounding quotes: the placeholder already sits in a string.
    return JSON.stringify(vars[name]).slice(1, -1);
  });
}

export function renderOpenclawConfig(env: RuntimeEnv, layout: StateLayout, gatewayPort: number, convosCli: string): string {
  const template = fs.readFileSync(env.configTemplate ?? path.join(layout.templateDir, "openclaw.template.json"), "utf8");
  const rendered = renderTemplate(template, {
    GATEWAY_PORT: String(gatewayPort),
    WORKSPACE_DIR: layout.workspaceDir,
    PLUGIN_DIR: layout.pluginDir,
    SKILLS_DIR: layout.skillsDir,
    XMTP_ENV: env.xmtpEnv,
    PRIMARY_MODEL: env.primaryModel,
    CONVOS_HOME: layout.convosHome,
    BINDING_FILE: layout.bindingFile,
    CONVOS_CLI: convosCli,
    PERPLEXITY_PLUGIN_DIR: layout.perplexityPluginDir,
    OPENROUTER_BASE_URL: env.openrouterBaseUrl,
    CHROME_PATH: env.chromePath,
  });
  // The port is numeric in the config; the template keeps it quoted so it stays valid JSON.
  const parsed = JSON.parse(rendered);
  parsed.gateway.port = gatewayPort;
  // Navigation stays strict (no private network) unless the operator names hosts to allow.
  if (env.browserAllowedHosts.length) parsed.browser.ssrfPolicy = { allowedHostnames: env.browserAllowedHosts };
  if (env.devModelUrl) {
    // A local OpenAI-compatible model replaces OpenRouter (npm start with a local LLM, tests).
    parsed.models = {
      mode: "merge",
      providers: {
        devmodel: {
          baseUrl: env.devModelUrl,
          apiKey: "dev-local",
          api: "openai-completions",
          models: [
            { id: "dev-model", name: "Local dev model", reasoning: false, input: ["text", "image"], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 32768, maxTokens: 4096 },
          ],
        },
      },
    };
    parsed.agents.defaults.model.primary = "devmodel/dev-model";
    parsed.agents.defaults.pdfModel.primary = "devmodel/dev-model";
  }
  return JSON.stringify(parsed, null, 2) + "\n";
}

/**
 * Copies workspace files the image ships into the state volume, without overwriting: the
 * agent edits its own USER.md and memory, and those edits must survive a restart.
 */
export function seedWorkspace(layout: StateLayout): string[] {
  const source = path.join(layout.templateDir, "workspace");
  fs.mkdirSync(layout.workspaceDir, { recursive: true });
  const copied: string[] = [];
  for (const name of fs.readdirSync(source)) {
    const target = path.join(layout.workspaceDir, name);
    if (fs.existsSync(target)) continue;
    fs.cpSync(path.join(source, name), target, { recursive: true });
    copied.push(name);
  }
  return copied;
}

/**
 * Copies the image's Perplexity plugin package to the directory the gateway loads it from,
 * replacing any earlier copy so an image upgrade takes effect on the next boot. Copying writes
 * new files (one link each), which is what OpenClaw's plugin hardlink policy accepts.
 */
export function installImagePlugins(layout: StateLayout): void {
  fs.rmSync(layout.perplexityPluginDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(layout.perplexityPluginDir), { recursive: true, mode: 0o700 });
  fs.cpSync(layout.perplexityPluginPackage, layout.perplexityPluginDir, { recursive: true });
}

export function prepareState(env: RuntimeEnv, layout: StateLayout, gatewayPort: number, convosCli: string): void {
  for (const dir of [layout.stateDir, layout.openclawStateDir, layout.convosHome]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  seedWorkspace(layout);
  installImagePlugins(layout);
  // Secrets are not in this file: the template references ${GATEWAY_TOKEN} and OpenClaw
  // resolves it from the environment, so nothing sensitive lands on the volume.
  fs.writeFileSync(layout.openclawConfigPath, renderOpenclawConfig(env, layout, gatewayPort, convosCli), { mode: 0o600 });
}

/** Resolves port 0 to a free loopback port (several local instances on one machine). */
/** Points the rendered gateway config at another port (the auto-chosen one was taken meanwhile). */
export function setGatewayPort(configPath: string, port: number): void {
  const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
  config.gateway.port = port;
  const tmp = `${configPath}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, configPath);
}

/** True when nothing listens on 127.0.0.1:port right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

export async function resolveGatewayPort(port: number): Promise<number> {
  if (port !== 0) return port;
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port: free } = server.address() as net.AddressInfo;
      server.close(() => resolve(free));
    });
  });
}
