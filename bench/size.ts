import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { ROOT, WORKER_BUILD } from "../local/worker-host.ts";

/** 5. Worker size: `wrangler deploy --dry-run --outdir <tmp>`, the bundle raw and gzipped. */
export interface SizeResult {
  files: { name: string; bytes: number; gzipBytes: number }[];
  totalBytes: number;
  totalGzipBytes: number;
  /** wrangler's own "Total Upload: … / gzip: …" line. */
  wranglerSays: string;
  /** Largest contributors to an unminified esbuild bundle of the same entry (bytes in output). */
  topInputs: { name: string; bytes: number }[];
}

async function contributors(): Promise<{ name: string; bytes: number }[]> {
  const r = await build({ ...WORKER_BUILD, write: false, metafile: true, logLevel: "error" });
  const by = new Map<string, number>();
  for (const output of Object.values(r.metafile.outputs)) {
    for (const [input, v] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? `${input.split("/").slice(0, 2).join("/")} (ours)`;
      by.set(pkg, (by.get(pkg) ?? 0) + v.bytesInOutput);
    }
  }
  return [...by]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 8);
}

export async function benchSize(log: (s: string) => void = console.error): Promise<SizeResult> {
  const out = mkdtempSync(join(tmpdir(), "bench-size-"));
  try {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        join(ROOT, "node_modules/.bin/wrangler"),
        ["deploy", "--dry-run", "--outdir", out],
        { cwd: ROOT, env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", CI: "1" }, timeout: 180_000, maxBuffer: 8 << 20 },
        (err, so, se) => (err ? reject(new Error(`${err.message}\n${se}`)) : resolve(`${so}\n${se}`)),
      ),
    );
    const files = readdirSync(out)
      .filter((f) => statSync(join(out, f)).isFile() && !f.endsWith(".map"))
      .map((name) => {
        const buf = readFileSync(join(out, name));
        return { name, bytes: buf.length, gzipBytes: gzipSync(buf, { level: 9 }).length };
      });
    const r: SizeResult = {
      files,
      totalBytes: files.reduce((a, f) => a + f.bytes, 0),
      totalGzipBytes: files.reduce((a, f) => a + f.gzipBytes, 0),
      wranglerSays: /Total Upload:[^\n]*/.exec(stdout)?.[0]?.trim() ?? "",
      topInputs: await contributors(),
    };
    log(
      `worker size: ${(r.totalBytes / 1024).toFixed(1)} KiB raw, ${(r.totalGzipBytes / 1024).toFixed(1)} KiB gzip -9 (${r.wranglerSays}); largest: ${r.topInputs.map((i) => `${i.name} ${(i.bytes / 1024).toFixed(0)} KiB`).join(", ")}`,
    );
    return r;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchSize(), null, 1));
