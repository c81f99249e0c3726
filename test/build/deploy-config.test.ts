// What every deployed environment gets from wrangler.toml and the bundle, beyond "it builds".
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { ROOT } from "../../local/worker-host.ts";

const ENVIRONMENTS = ["dev", "staging", "production"];

describe("deployed environments", () => {
  it.each(ENVIRONMENTS)("%s has the every-minute Cron Trigger and Workers Logs", (env) => {
    const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml"), env });
    expect(config.triggers.crons).toEqual(["* * * * *"]);
    expect(config.observability?.enabled).toBe(true);
  });

  it("the production bundle has no benchmark routes", () => {
    const outdir = mkdtempSync(join(tmpdir(), "pool-bundle-"));
    try {
      const r = spawnSync(join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--env", "production", "--outdir", outdir], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", CI: "true" },
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      const bundle = readFileSync(join(outdir, readdirSync(outdir).find((f) => f.endsWith(".js"))!), "utf8");
      expect(bundle).toContain("/api/pool/claim");
      expect(bundle).not.toContain("/_bench");
      expect(bundle).not.toContain("naive-claim");
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
