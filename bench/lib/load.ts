import http from "node:http";

/**
 * A closed-loop load generator over node:http with keep-alive: `concurrency` workers each
 * send their next request as soon as the previous one answered, until `total` requests were
 * sent or `maxMs` passed. Loopback only: the target is always a 127.0.0.1 URL.
 */
export interface LoadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  status: number;
  ms: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface LoadRun {
  results: LoadResult[];
  wallMs: number;
  errors: number;
  /** True when the time bound stopped the run before `total` requests. */
  cutShort: boolean;
}

export async function runLoad(base: string, opts: { concurrency: number; total: number; maxMs: number; request: (i: number) => LoadRequest }): Promise<LoadRun> {
  const url = new URL(base);
  if (url.hostname !== "127.0.0.1" && url.hostname !== "localhost") throw new Error(`benchmarks only talk to loopback, not ${url.hostname}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency, maxFreeSockets: opts.concurrency });
  const results: LoadResult[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + opts.maxMs;
  const one = (req: LoadRequest) =>
    new Promise<LoadResult>((resolve, reject) => {
      const t0 = performance.now();
      const r = http.request(
        { host: url.hostname, port: url.port, method: req.method, path: req.path, agent, headers: { ...(req.headers ?? {}), ...(req.body ? { "content-length": Buffer.byteLength(req.body) } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", reject);
        },
      );
      r.on("error", reject);
      r.setTimeout(30_000, () => r.destroy(new Error("request timed out")));
      if (req.body) r.write(req.body);
      r.end();
    });
  const worker = async () => {
    while (next < opts.total && performance.now() < deadline) {
      const i = next++;
      try {
        results.push(await one(opts.request(i)));
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const wallMs = performance.now() - started;
  agent.destroy();
  return { results, wallMs, errors, cutShort: next < opts.total };
}

/** Parses `Server-Timing: pool;dur=1, provision;dur=2` into { pool: 1, provision: 2 }. */
export function serverTiming(header: string | string[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  const text = Array.isArray(header) ? header.join(",") : (header ?? "");
  for (const part of text.split(",")) {
    const [name, ...params] = part.trim().split(";");
    const dur = params.map((p) => p.trim()).find((p) => p.startsWith("dur="));
    if (name && dur) out[name] = Number(dur.slice(4));
  }
  return out;
}
