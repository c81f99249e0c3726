// What the agent finds when it boots: its workspace, its OpenClaw config (rendered from the
// template, without secrets), and skills that either work against the provider's API or
// say plainly that the provider is not configured.
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { readRuntimeEnv } from "../../runtime-container/src/env.ts";
import { prepareState, renderTemplate, stateLayout } from "../../runtime-container/src/state-layout.ts";
import { RUNTIME_DIR, node24, tempDir } from "./support.ts";

const run = promisify(execFile);
const SKILLS = path.join(RUNTIME_DIR, "openclaw", "skills");

type Req = { method: string; url: string; headers: http.IncomingHttpHeaders; body: any };
let server: http.Server | undefined;
afterEach(() => server?.close());

async function fakeApi(handler: (req: Req) => { status?: number; body: unknown }): Promise<{ url: string; calls: Req[] }> {
  const calls: Req[] = [];
  server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      const r: Req = { method: req.method!, url: req.url!, headers: req.headers, body: raw ? JSON.parse(raw) : undefined };
      calls.push(r);
      const out = handler(r);
      res.writeHead(out.status ?? 200, { "content-type": "application/json" }).end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server!.address() as { port: number }).port}`, calls };
}

async function skill(script: string, args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(node24(), [path.join(SKILLS, script), ...args], { env: { PATH: process.env.PATH, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("workspace", () => {
  it("ships every workspace file, written for one Convos group chat", () => {
    const dir = path.join(RUNTIME_DIR, "openclaw", "workspace");
    // No TOOLS.md: OpenClaw injects only AGENTS/SOUL/IDENTITY/USER/BOOTSTRAP/MEMORY.md, so the
    // tools live in AGENTS.md's "Tools" section, where the model reads them every turn.
    expect(fs.readdirSync(dir).sort()).toEqual(["AGENTS.md", "BOOT.md", "HEARTBEAT.md", "IDENTITY.md", "SOUL.md", "USER.md"]);
    const agents = fs.readFileSync(path.join(dir, "AGENTS.md"), "utf8");
    expect(agents).toContain("INSTRUCTIONS.md");
    expect(agents).toContain("👀");
    expect(agents).toMatch(/NO_REPLY/u);
    expect(agents).toMatch(/[Mm]arkdown/u);
  });

  it("seeds the workspace without overwriting what the agent changed, and renders config without secrets", () => {
    const stateDir = tempDir("layout");
    const env = readRuntimeEnv({
      STATE_DIR: stateDir,
      GATEWAY_TOKEN: "super-secret-token",
      OPENROUTER_API_KEY: "sk-or-secret",
      XMTP_ENV: "production",
      OPENCLAW_PRIMARY_MODEL: "openai/gpt-5-mini",
      OPENCLAW_GATEWAY: "stub",
    });
    const layout = stateLayout(stateDir);
    prepareState(env, layout, 18789, "/usr/local/bin/convos");
    fs.writeFileSync(path.join(layout.workspaceDir, "USER.md"), "- Maya likes hiking\n");
    prepareState(env, layout, 18789, "/usr/local/bin/convos");
    expect(fs.readFileSync(path.join(layout.workspaceDir, "USER.md"), "utf8")).toBe("- Maya likes hiking\n");

    const text = fs.readFileSync(layout.openclawConfigPath, "utf8");
    expect(text).not.toContain("super-secret-token");
    expect(text).not.toContain("sk-or-secret");
    const config = JSON.parse(text);
    expect(config.gateway).toMatchObject({ port: 18789, bind: "loopback", auth: { mode: "token", token: "${GATEWAY_TOKEN}" } });
    // Silence is an answer in the group (NO_REPLY posts nothing); addressed messages get 👀.
    // The pdf tool registers only with a PDF-capable model it can resolve: the agent's own model.
    // Quiet by default: no recurring heartbeat turn (reminders come from the scheduler).
    expect(config.agents.defaults).toEqual({
      workspace: layout.workspaceDir,
      model: { primary: "openrouter/openai/gpt-5-mini" },
      pdfModel: { primary: "openrouter/openai/gpt-5-mini" },
      silentReply: { group: "allow" },
      heartbeat: { every: "0m" },
    });
    expect(config.cron).toMatchObject({ enabled: true });
    expect(config.messages).toEqual({ ackReaction: "👀", ackReactionScope: "group-mentions" });
    expect(config.channels.convos).toMatchObject({ enabled: true, env: "production" });
    expect(config.plugins.load.paths).toEqual([layout.pluginDir, layout.perplexityPluginDir]);
    for (const dir of config.plugins.load.paths) expect(fs.existsSync(path.join(dir, "openclaw.plugin.json"))).toBe(true);
    expect(config.plugins.entries.convos.config).toEqual({ convosHome: layout.convosHome, stateFile: layout.bindingFile, workspaceDir: layout.workspaceDir, cliPath: "/usr/local/bin/convos" });
    expect(config.skills.load.extraDirs).toEqual([SKILLS]);
    expect(fs.statSync(layout.openclawConfigPath).mode & 0o077).toBe(0);
  });

  it("configures web search, the browser and voice notes on OpenRouter and the image's Chromium, the key left to the environment", () => {
    const render = (vars: Record<string, string>) => {
      const stateDir = tempDir("layout-tools");
      const layout = stateLayout(stateDir);
      prepareState(readRuntimeEnv({ STATE_DIR: stateDir, OPENCLAW_GATEWAY: "stub", OPENROUTER_API_KEY: "sk-or-secret", ...vars }), layout, 18789, "convos");
      const text = fs.readFileSync(layout.openclawConfigPath, "utf8");
      expect(text).not.toContain("sk-or-secret");
      return JSON.parse(text);
    };
    const config = render({});
    // Web search: OpenClaw's Perplexity provider on OpenRouter's Sonar (OPENROUTER_API_KEY from the environment).
    expect(config.tools.web.search).toMatchObject({ enabled: true, provider: "perplexity" });
    expect(config.plugins.entries.perplexity).toEqual({ enabled: true, config: { webSearch: { baseUrl: "https://openrouter.ai/api/v1", model: "perplexity/sonar" } } });
    // Voice notes: OpenClaw's audio pipeline on OpenRouter's transcription endpoint.
    expect(config.tools.media.models).toEqual([
      expect.objectContaining({ provider: "openrouter", model: "openai/whisper-large-v3-turbo", baseUrl: "https://openrouter.ai/api/v1", capabilities: ["audio"] }),
    ]);
    expect(config.tools.media.audio.enabled).toBe(true);
    // One managed headless Chromium with the container's flags; private networks stay blocked.
    expect(config.browser).toMatchObject({ enabled: true, defaultProfile: "openclaw", executablePath: "/usr/bin/chromium", headless: true, noSandbox: true });
    expect(config.browser.extraArgs).toEqual(expect.arrayContaining(["--disable-gpu", "--disable-background-networking", "--renderer-process-limit=2"]));
    expect(config.browser.ssrfPolicy).toBeUndefined();

    const moved = render({ OPENROUTER_BASE_URL: "http://openrouter.test/api/v1/", CHROME_PATH: "/opt/chromium/chrome", BROWSER_ALLOWED_HOSTS: "intranet.example, 10.0.0.5" });
    expect(moved.plugins.entries.perplexity.config.webSearch.baseUrl).toBe("http://openrouter.test/api/v1");
    expect(moved.tools.media.models[0].baseUrl).toBe("http://openrouter.test/api/v1");
    expect(moved.browser.executablePath).toBe("/opt/chromium/chrome");
    expect(moved.browser.ssrfPolicy).toEqual({ allowedHostnames: ["intranet.example", "10.0.0.5"] });
  });

  it("loads the Perplexity plugin from a single-link copy of the image's package, refreshed on every boot", () => {
    // OpenClaw ignores a non-bundled plugin whose files have more than one hard link (then tries
    // ClawHub at boot and web search has no provider); installs such as `cp -al` checkouts or
    // pnpm's store hard-link node_modules, so the gateway must never load the package in place.
    const stateDir = tempDir("layout-perplexity");
    const env = readRuntimeEnv({ STATE_DIR: stateDir, OPENCLAW_GATEWAY: "stub" });
    const layout = stateLayout(stateDir);
    prepareState(env, layout, 18789, "convos");
    expect(layout.perplexityPluginDir.startsWith(stateDir + path.sep)).toBe(true);
    const files = (dir: string): string[] => fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => fs.statSync(path.join(dir, f)).isFile());
    const shipped = files(layout.perplexityPluginPackage).sort();
    expect(shipped).toContain("openclaw.plugin.json");
    expect(files(layout.perplexityPluginDir).sort()).toEqual(shipped);
    for (const f of shipped) {
      const copy = path.join(layout.perplexityPluginDir, f);
      expect(fs.statSync(copy).nlink, f).toBe(1);
      expect(fs.readFileSync(copy).equals(fs.readFileSync(path.join(layout.perplexityPluginPackage, f))), f).toBe(true);
    }

    // A restart after an image upgrade loads the new package, nothing left of the old copy.
    fs.writeFileSync(path.join(layout.perplexityPluginDir, "stale.js"), "old image");
    fs.writeFileSync(path.join(layout.perplexityPluginDir, "package.json"), "{}");
    prepareState(env, layout, 18789, "convos");
    expect(files(layout.perplexityPluginDir).sort()).toEqual(shipped);
    expect(JSON.parse(fs.readFileSync(path.join(layout.perplexityPluginDir, "package.json"), "utf8")).name).toBe("@openclaw/perplexity-plugin");
  });

  it("can point the agent at a local OpenAI-compatible model instead of OpenRouter", () => {
    const stateDir = tempDir("layout-dev-model");
    const env = readRuntimeEnv({ STATE_DIR: stateDir, OPENCLAW_GATEWAY: "stub", OPENCLAW_DEV_MODEL_URL: "http://127.0.0.1:1234/v1" });
    const layout = stateLayout(stateDir);
    prepareState(env, layout, 18789, "convos");
    const config = JSON.parse(fs.readFileSync(layout.openclawConfigPath, "utf8"));
    expect(config.agents.defaults.model.primary).toBe("devmodel/dev-model");
    expect(config.agents.defaults.pdfModel.primary).toBe("devmodel/dev-model");
    expect(config.models.providers.devmodel).toMatchObject({ baseUrl: "http://127.0.0.1:1234/v1", api: "openai-completions" });
  });

  it("refuses a template placeholder it does not know instead of rendering a broken config", () => {
    expect(() => renderTemplate('{"a": "{{NOPE}}"}', {})).toThrow(/unknown placeholder \{\{NOPE\}\}/u);
    expect(renderTemplate('{"a": "{{X}}"}', { X: 'quote " and \\ slash' })).toBe('{"a": "quote \\" and \\\\ slash"}');
  });
});

describe("skills", () => {
  it("each has a SKILL.md naming itself", () => {
    for (const name of ["agentmail", "telnyx-cli", "bankr"]) {
      const md = fs.readFileSync(path.join(SKILLS, name, "SKILL.md"), "utf8");
      expect(md).toMatch(new RegExp(`^---\\nname: ${name}\\ndescription: .+\\n`, "u"));
      expect(md).toContain("not configured");
    }
  });

  it("say plainly when their provider is not configured", async () => {
    const cases: Array<[string, string[], RegExp]> = [
      ["agentmail/scripts/agentmail.mjs", ["send", "--to", "a@b.c"], /AgentMail is not configured on this instance/u],
      ["telnyx-cli/scripts/sms.mjs", ["send", "--to", "+15551234567", "--text", "hi"], /SMS is not configured on this instance/u],
      ["bankr/scripts/bankr.mjs", ["balance"], /Bankr is not configured on this instance/u],
    ];
    for (const [script, args, message] of cases) {
      const r = await skill(script, args, {});
      expect(r.code, script).toBe(3);
      expect(r.stderr).toMatch(message);
    }
  });

  it("agentmail sends a calendar invite as an ICS attachment from the instance's inbox", async () => {
    const api = await fakeApi(() => ({ body: { message_id: "m-1", thread_id: "t-1" } }));
    const r = await skill(
      "agentmail/scripts/agentmail.mjs",
      ["invite", "--to", "alex@example.com", "--title", "Dinner, then drinks", "--start", "2026-12-04T19:00:00Z", "--end", "2026-12-04T21:00:00Z", "--location", "Casa Mia"],
      {
        AGENTMAIL_API_KEY: "am-key",
        AGENTMAIL_INBOX: "ava@agentmail.to",
        AGENTMAIL_BASE_URL: api.url,
      },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ sent: true, invite: true, message_id: "m-1" });
    const [call] = api.calls;
    expect(call).toMatchObject({ method: "POST", url: "/v0/inboxes/ava%40agentmail.to/messages/send" });
    expect(call!.headers.authorization).toBe("Bearer am-key");
    expect(call!.body).toMatchObject({ to: ["alex@example.com"], subject: "Invitation: Dinner, then drinks" });
    const attachment = call!.body.attachments[0];
    expect(attachment).toMatchObject({ filename: "invite.ics", content_disposition: "attachment" });
    const ics = Buffer.from(attachment.content, "base64").toString("utf8");
    expect(ics).toContain("METHOD:REQUEST");
    expect(ics).toContain("DTSTART:20261204T190000Z");
    expect(ics).toContain("SUMMARY:Dinner\\, then drinks");
    expect(ics).toContain("ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:alex@example.com");
  });

  it("telnyx-cli sends an SMS from the instance's number", async () => {
    const api = await fakeApi(() => ({ body: { data: { id: "msg-uuid", parts: 1, to: [{ phone_number: "+15551234567", status: "queued" }] } } }));
    const r = await skill("telnyx-cli/scripts/sms.mjs", ["send", "--to", "+15551234567", "--text", "Table booked for 7pm"], {
      TELNYX_API_KEY: "tx-key",
      TELNYX_PHONE_NUMBER: "+15550001111",
      TELNYX_BASE_URL: api.url,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ sent: true, id: "msg-uuid", status: "queued", parts: 1 });
    expect(api.calls[0]).toMatchObject({ method: "POST", url: "/v2/messages", body: { from: "+15550001111", to: "+15551234567", text: "Table booked for 7pm", type: "SMS" } });
    expect(api.calls[0]!.headers.authorization).toBe("Bearer tx-key");
    const bad = await skill("telnyx-cli/scripts/sms.mjs", ["send", "--to", "555-1234", "--text", "x"], { TELNYX_API_KEY: "k", TELNYX_PHONE_NUMBER: "+15550001111", TELNYX_BASE_URL: api.url });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/E\.164/u);
  });

  it("bankr submits the request and waits for the answer", async () => {
    let polls = 0;
    const api = await fakeApi((req) => {
      if (req.url === "/agent/prompt") return { body: { jobId: "job-7" } };
      polls++;
      return { body: polls < 2 ? { status: "processing" } : { status: "completed", response: "You have 0.42 ETH on Base." } };
    });
    const r = await skill("bankr/scripts/bankr.mjs", ["what is my ETH balance on Base?"], { BANKR_API_KEY: "bk-key", BANKR_API_URL: api.url, BANKR_POLL_MS: "10" });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ status: "completed", response: "You have 0.42 ETH on Base." });
    expect(api.calls[0]).toMatchObject({ method: "POST", url: "/agent/prompt", body: { prompt: "what is my ETH balance on Base?" } });
    expect(api.calls[0]!.headers["x-api-key"]).toBe("bk-key");
    expect(api.calls.at(-1)!.url).toBe("/agent/job/job-7");
  });
});
