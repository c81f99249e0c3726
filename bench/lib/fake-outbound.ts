/**
 * Everything the benchmarked Worker fetches is answered here, in this process: fake runtime
 * instances under http://127.0.0.1:9/inst/<id>/… (provision answers at once; a second
 * provision of the same instance is a 409, like the real front server; an instance that was
 * provisioned, or seeded as bound with `setBound`, reports its conversation in /pool/health
 * and /convos/status, so the tick's claimed-instance checks find it healthy) and a fake local
 * supervisor under http://127.0.0.1:9/sup/services. Nothing is ever really connected to
 * (port 9 is only a name here); every call is counted by kind.
 */
export const FAKE_BASE = "http://127.0.0.1:9";

export interface FakeService {
  id: string;
  name: string;
  url: string;
  status: "starting" | "running" | "exited" | "failed";
}

export function createFakeOutbound(opts: { passLoopback?: boolean } = {}) {
  const calls: Record<string, number> = {};
  const provisions = new Map<string, number>();
  /** Instance id → the conversation it is bound to. */
  const bound = new Map<string, string>();
  /** How long each forwarded loopback call took, measured here (outside the Worker). */
  const loopbackMs: number[] = [];
  let services: FakeService[] = [];
  const count = (k: string) => (calls[k] = (calls[k] ?? 0) + 1);
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (opts.passLoopback && url.hostname === "127.0.0.1" && url.port !== "9") {
      // Real runtime processes on this machine (claim to live): forward as is.
      count("loopback");
      const t0 = performance.now();
      const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      const res = await fetch(request.url, { method: request.method, headers: request.headers, body });
      const buf = await res.arrayBuffer();
      loopbackMs.push(performance.now() - t0);
      return new Response(buf, { status: res.status, headers: { "content-type": res.headers.get("content-type") ?? "application/json" } });
    }
    if (`${url.protocol}//${url.host}` !== FAKE_BASE) {
      count("unexpected");
      return json({ error: { code: "bench", message: `benchmarks do not reach ${url.host}` } }, 502);
    }
    const inst = /^\/inst\/([^/]+)(\/.*)$/.exec(url.pathname);
    if (inst) {
      const [, id, path] = inst as unknown as [string, string, string];
      if (path === "/pool/provision" && request.method === "POST") {
        count("provision");
        await request.arrayBuffer();
        const n = (provisions.get(id) ?? 0) + 1;
        provisions.set(id, n);
        if (n > 1) return json({ error: { code: "already_bound", message: "already bound" } }, 409);
        const conversationId = `conv-${id}`;
        bound.set(id, conversationId);
        return json({ status: "created", conversationId, inviteUrl: `https://dev.convos.org/v2?i=${conversationId}`, joined: false });
      }
      if (path === "/pool/health") {
        count("health");
        return json({ ready: true, version: "bench", bound: bound.has(id) });
      }
      if (path === "/convos/status") {
        count("status");
        const conversationId = bound.get(id) ?? null;
        return json({ conversationId, inboxId: null, pending: false, clean: conversationId === null, streaming: conversationId !== null });
      }
    }
    if (url.pathname === "/sup/services" && request.method === "GET") {
      count("list");
      return json({ services });
    }
    const del = /^\/sup\/services\/([^/]+)$/.exec(url.pathname);
    if (del && request.method === "DELETE") {
      count("destroy");
      const before = services.length;
      services = services.filter((s) => s.id !== decodeURIComponent(del[1]!));
      return before === services.length ? json({ error: { code: "not_found", message: "no such service" } }, 404) : new Response(null, { status: 204 });
    }
    if (url.pathname === "/sup/services" && request.method === "POST") {
      count("create");
      const body = (await request.json()) as { name: string; instanceId: string };
      const svc: FakeService = { id: `svc-${body.instanceId}`, name: body.name, url: `${FAKE_BASE}/inst/${body.instanceId}`, status: "starting" };
      services.push(svc);
      return json(svc, 201);
    }
    count("other");
    return json({ error: { code: "not_found", message: url.pathname } }, 404);
  }

  return {
    handle,
    calls,
    loopbackMs,
    provisions,
    setServices(list: FakeService[]) {
      services = list;
    },
    /** Instances already bound when the benchmark starts (seeded claimed rows). */
    setBound(entries: [id: string, conversationId: string][]) {
      for (const [id, conversationId] of entries) bound.set(id, conversationId);
    },
    reset() {
      for (const k of Object.keys(calls)) delete calls[k];
      provisions.clear();
      bound.clear();
    },
    snapshot: () => ({ ...calls }),
  };
}

export function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}
