import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../local/worker-host.ts";

const bin = (name: string) => join(ROOT, "node_modules/.bin", name);
const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", CI: "true" } });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
};

describe("build", () => {
  it.each(["tsconfig.json", "tsconfig.node.json", "runtime-container/tsconfig.json"])("typechecks (%s)", (project) => {
    const r = run(bin("tsc"), ["--noEmit", "-p", project]);
    expect(
      r.out
        .trim()
        .split("\n")
        .filter((l) => l.includes("error TS")),
      r.out,
    ).toEqual([]);
    expect(r.code).toBe(0);
  });

  it.each(["dev", "staging", "production"])("wrangler deploy --dry-run bundles the Worker for %s", (environment) => {
    const outdir = mkdtempSync(join(tmpdir(), "pool-dry-run-"));
    try {
      const r = run(bin("wrangler"), ["deploy", "--dry-run", "--env", environment, "--outdir", outdir]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain("POOL_COORDINATOR");
      const bundle = readdirSync(outdir).find((f) => f.endsWith(".js"))!;
      expect(readFileSync(join(outdir, bundle), "utf8")).toContain("PoolCoordinator");
      // The runtime container (openclaw, ~2 GB) must never end up in the Worker.
      expect(statSync(join(outdir, bundle)).size).toBeLessThan(3 * 1024 * 1024);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it("the migrations match the drizzle schema", () => {
    // drizzle-kit takes --out relative to the project, so the scratch copy lives inside it.
    const rel = `.test-results/migrations-check-${process.pid}`;
    const out = join(ROOT, rel);
    try {
      cpSync(join(ROOT, "migrations"), out, { recursive: true });
      const r = run(bin("drizzle-kit"), ["generate", "--dialect", "sqlite", "--schema", "worker/db/schema.ts", "--out", rel]);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/No schema changes/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("worker types are generated from wrangler.toml", () => {
    const r = run(bin("wrangler"), ["types", "worker/worker-configuration.d.ts", "--include-runtime", "false", "--strict-vars", "false", "--env-file", ".dev.vars.example", "--check"]);
    expect(r.code, r.out).toBe(0);
  });
});
