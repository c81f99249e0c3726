// `npm run lint` inside `npm test`: a lint or format violation is a failed test in the JSON
// report (naming each file and rule), not an aborted run.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../local/worker-host.ts";

const biome = (args: string[], cwd = ROOT) => {
  const r = spawnSync(join(ROOT, "node_modules/.bin/biome"), args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
};

describe("lint and format (Biome)", () => {
  it("the tree passes `biome ci` (lint rules and formatting)", () => {
    const r = biome(["ci", "--reporter=github", "--colors=off", "."]);
    // One line per problem: "<rule or format> <file>:<line>", the file relative to the project.
    const problems = r.out
      .split("\n")
      .filter((l) => l.startsWith("::error"))
      .map((l) => {
        const m = /title=([^,]+),file=([^,]+),line=(\d+)/.exec(l);
        return m ? `${m[1]} ${m[2]!.replace(`${ROOT}/`, "").replace(ROOT, "")}:${m[3]}` : l.slice(0, 200);
      });
    expect(problems, "run `npm run format` for formatting, then fix what `npm run lint` still reports").toEqual([]);
    expect(r.code, r.out.slice(-4000)).toBe(0);
  });

  it("refuses a secret compared with === in deployed code, and not a typeof or absence check", () => {
    const probe = [
      "export function check(token: string, provided: string, env: { POOL_API_KEY: string }) {",
      '  if (typeof token === "string" && token !== undefined && provided.length === 3) return 1;',
      "  return provided === env.POOL_API_KEY;",
      "}",
      "",
    ].join("\n");
    // This project's config and rules, on a scratch tree with one file where deployed code lives.
    const dir = mkdtempSync(join(tmpdir(), "lint-probe-"));
    try {
      cpSync(join(ROOT, "biome.json"), join(dir, "biome.json"));
      cpSync(join(ROOT, "lint"), join(dir, "lint"), { recursive: true });
      mkdirSync(join(dir, "worker"));
      writeFileSync(join(dir, "worker/probe.ts"), probe);
      const r = biome(["lint", "--only=plugin", "worker"], dir);
      expect(r.code).not.toBe(0);
      expect(r.out.match(/Compare secrets in constant time/g), r.out).toHaveLength(1);
      expect(r.out).toContain("worker/probe.ts:3:10");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
