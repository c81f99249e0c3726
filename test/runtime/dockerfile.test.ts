// No Docker engine here: check the image recipe statically, then start the command it
// names the way the container would (same env, same working directory) and run its
// HEALTHCHECK against it.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FAKE_CONVOS, RUNTIME_DIR, node24, startRuntime, type RuntimeHandle } from "./support.ts";

type Instruction = { op: string; args: string };
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/gu, " ");
  return joined
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/u);
      return { op: op!.toUpperCase(), args: rest.join(" ") };
    });
}

const instructions = parseDockerfile(fs.readFileSync(path.join(RUNTIME_DIR, "Dockerfile"), "utf8"));
const all = (op: string) => instructions.filter((i) => i.op === op);
const last = (op: string) => all(op).at(-1);
const finalStage = instructions.slice(instructions.findLastIndex((i) => i.op === "FROM"));
const envOf = (): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const i of finalStage.filter((x) => x.op === "ENV")) {
    for (const m of i.args.matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/gu)) env[m[1]!] = m[2]!.replace(/^"|"$/gu, "");
  }
  return env;
};

describe("Dockerfile", () => {
  it("builds on Node 24 and Debian trixie (glibc >= 2.38 for the XMTP bindings)", () => {
    const arg = all("ARG").find((a) => a.args.startsWith("NODE_IMAGE="));
    expect(arg?.args).toMatch(/^NODE_IMAGE=node:24-trixie/u);
    expect(all("FROM").every((f) => f.args.startsWith("${NODE_IMAGE}"))).toBe(true);
  });

  it("copies only sources that exist in runtime-container/", () => {
    const copies = all("COPY").filter((c) => !c.args.startsWith("--from"));
    expect(copies.length).toBeGreaterThan(3);
    for (const c of copies) {
      const parts = c.args.split(/\s+/u).filter((p) => !p.startsWith("--"));
      for (const source of parts.slice(0, -1)) expect(fs.existsSync(path.join(RUNTIME_DIR, source)), `COPY ${source}`).toBe(true);
    }
    // The pinned dependencies come from the committed lockfile.
    expect(instructions.some((i) => i.op === "RUN" && i.args.includes("npm ci --omit=dev"))).toBe(true);
  });

  it("does not ship what .dockerignore excludes, and ships everything the runtime loads", () => {
    const ignored = fs.readFileSync(path.join(RUNTIME_DIR, ".dockerignore"), "utf8").split("\n").filter(Boolean);
    expect(ignored).toContain("node_modules");
    for (const needed of ["contract", "src", "plugins", "openclaw"]) expect(ignored).not.toContain(needed);
  });

  it("runs as a non-root user with PORT 8080, a state volume and a health check on /pool/health", () => {
    const user = last("USER")?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/u);
    expect(envOf()).toMatchObject({ PORT: "8080", STATE_DIR: "/data", OPENCLAW_GATEWAY: "openclaw" });
    expect(last("EXPOSE")?.args).toBe("8080");
    expect(last("HEALTHCHECK")?.args).toContain("/pool/health");
    expect(all("RUN").some((r) => r.args.includes("chromium"))).toBe(true);
    // The agent's browser launches the Debian package's binary (browser.executablePath).
    expect(envOf().CHROME_PATH).toBe("/usr/bin/chromium");
  });

  it("warms the compile cache at build time with a boot that reaches ready and stops cleanly", async () => {
    expect(envOf().NODE_COMPILE_CACHE).toBe("/app/.node-compile-cache");
    const warm = all("RUN").find((r) => r.args.includes("warm-boot"));
    expect(warm?.args).toContain("(node src/warm-boot.ts || echo");
    const { execFile } = await import("node:child_process");
    const { promisify } = await import("node:util");
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "compile-cache-"));
    const { stdout } = await promisify(execFile)(node24(), ["src/warm-boot.ts"], {
      cwd: RUNTIME_DIR,
      env: { ...process.env, OPENCLAW_GATEWAY: "stub", NODE_COMPILE_CACHE: cache, CONVOS_CLI: FAKE_CONVOS, VITEST: "", NODE_ENV: "production" },
    });
    expect(stdout).toMatch(/\[warm-boot\] ready after \d+ ms/u);
    expect(fs.readdirSync(cache).length).toBeGreaterThan(0);
  });

  describe("its command", () => {
    let r: RuntimeHandle | undefined;
    afterAll(async () => {
      await r?.stop();
    });

    it("names an entrypoint that exists and starts, and the HEALTHCHECK passes against it", async () => {
      const cmd = JSON.parse(last("CMD")!.args) as string[];
      expect(cmd).toEqual(["node", "src/main.ts"]);
      expect(fs.existsSync(path.join(RUNTIME_DIR, cmd[1]!))).toBe(true);
      expect(JSON.parse(last("ENTRYPOINT")!.args)).toEqual(["/usr/bin/tini", "--"]);
      // Same env as the image, except the gateway: the OpenClaw boot has its own suite.
      const env = envOf();
      r = await startRuntime({ cwd: RUNTIME_DIR, args: cmd.slice(1), env: { ...env, OPENCLAW_GATEWAY: "stub", STATE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "image-state-")) } });
      await r.waitReady();
      const healthcheck = JSON.parse(last("HEALTHCHECK")!.args.replace(/^.*?CMD\s+/u, "")) as string[];
      expect(() => execFileSync(process.execPath, healthcheck.slice(1), { env: { ...process.env, PORT: String(r!.port) } })).not.toThrow();
      await r.stop();
      expect(() => execFileSync(process.execPath, healthcheck.slice(1), { env: { ...process.env, PORT: String(r!.port) }, stdio: "pipe" })).toThrow();
    });
  });
});
