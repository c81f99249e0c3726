import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../local/worker-host.ts";
import { claimCall, floorCall } from "./claims.ts";
import { createFakeOutbound } from "./lib/fake-outbound.ts";
import { BENCH_POOL_KEY, startBenchHost } from "./lib/host.ts";
import { runLoad } from "./lib/load.ts";
import { clearInstances, seedRows } from "./lib/seed.ts";

/**
 * A V8 CPU profile of the Worker's isolate (Worker, coordinator and D1 shim alike) while claims
 * run at one concurrency: where a claim's CPU goes, by function and by file. For finding what to
 * cut, not for figures of record (`npm run bench -- profile [c] [claims]`; default c=64, 800).
 */
const INSPECTOR_PORT = 9339;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

async function cdp(wsUrl: string) {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let next = 0;
  const waiting = new Map<number, (v: unknown) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result);
  };
  return {
    send: (method: string, params: object = {}) =>
      new Promise<unknown>((resolve) => {
        const id = ++next;
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

export async function profileClaims(concurrency = 64, total = 800, route: "claim" | "floor" = "claim"): Promise<void> {
  const fake = createFakeOutbound();
  const host = await startBenchHost({ outboundService: fake.handle, inspectorPort: INSPECTOR_PORT });
  try {
    await clearInstances(host.db);
    await seedRows(
      host.db,
      Array.from({ length: total + 100 }, (_, i) => ({ id: `p${i}`, status: "idle", readyAt: Date.now() - 600_000 + i, lastHealthAt: Date.now() })),
    );
    await host.postJson("/_bench/resync", {});
    const auth = { authorization: `Bearer ${BENCH_POOL_KEY}`, "content-type": "application/json" };
    await runLoad(host.url, { concurrency: 4, total: 50, maxMs: 10_000, request: () => claimCall(auth) });
    await runLoad(host.url, { concurrency: 4, total: 50, maxMs: 10_000, request: (i) => floorCall(`pw-${i}`, auth) });

    const targets = (await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json()) as { id: string; title?: string; webSocketDebuggerUrl: string }[];
    const target = targets.find((t) => /pool/i.test(t.title ?? t.id)) ?? targets[0]!;
    const session = await cdp(target.webSocketDebuggerUrl);
    await session.send("Profiler.enable");
    await session.send("Profiler.setSamplingInterval", { interval: 200 });
    await session.send("Profiler.start");
    const request = route === "floor" ? (i: number) => floorCall(`pf-${i}`, auth) : () => claimCall(auth);
    const cpu0 = host.workerdCpuSeconds();
    const run = await runLoad(host.url, { concurrency, total, maxMs: 60_000, request });
    const cpuMs = (host.workerdCpuSeconds() - cpu0) * 1000;
    const { profile } = (await session.send("Profiler.stop")) as { profile: { nodes: ProfileNode[] } };
    session.close();

    const ok = run.results.filter((r) => r.status === 200).length;
    console.log(`${ok}/${run.results.length} ${route} calls ok at c=${concurrency}, ${((ok / run.wallMs) * 1000).toFixed(0)}/s, workerd CPU ${(cpuMs / ok).toFixed(2)} ms per call`);
    const all = profile.nodes.reduce((a, n) => a + n.hitCount, 0);
    const byFn = new Map<string, number>();
    const byFile = new Map<string, number>();
    for (const n of profile.nodes) {
      const f = n.callFrame;
      const file = f.url.split("/").slice(-1)[0] || "(native)";
      const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
      byFn.set(key, (byFn.get(key) ?? 0) + n.hitCount);
      byFile.set(file, (byFile.get(file) ?? 0) + n.hitCount);
    }
    // Inclusive time: a node's hits plus its descendants', charged once per function name on the path.
    const children = new Map(profile.nodes.map((n) => [n.id, n.children ?? []]));
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const inclusive = new Map<string, number>();
    const walk = (id: number, onPath: Set<string>): number => {
      const n = nodes.get(id)!;
      let hits = n.hitCount;
      const name = n.callFrame.functionName || "(anonymous)";
      const fresh = !onPath.has(name);
      if (fresh) onPath.add(name);
      for (const c of children.get(id)!) hits += walk(c, onPath);
      if (fresh) {
        onPath.delete(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + hits);
      }
      return hits;
    };
    walk(profile.nodes[0]!.id, new Set());
    const top = (m: Map<string, number>, k: number) =>
      [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([name, n]) => `${((n / all) * 100).toFixed(1).padStart(5)} %  ${name}`)
        .join("\n");
    // For comparing two runs (a claim's and the floor's) function by function.
    writeFileSync(join(ROOT, `bench/.out/profile-${route}.json`), JSON.stringify({ calls: ok, samples: all, self: Object.fromEntries(byFn), inclusive: Object.fromEntries(inclusive) }));
    console.log(`\nself time, by function (${all} samples):\n${top(byFn, 40)}`);
    console.log(`\ninclusive time, by function name:\n${top(inclusive, 60)}`);
  } finally {
    await host.dispose();
  }
}
