/**
 * D1 in its own process, for the benchmarks (bench/lib/host.ts `d1: "remote"`). In production D1
 * is a service of its own: the coordinator sends it statements over the network and D1 runs them
 * on its machines. Miniflare instead runs D1's SQLite on the same workerd thread as the Worker
 * and the coordinator, so every row an outbox flush writes costs the coordinator's thread too
 * (about 50 µs a row here: 0.1 ms per claim, a tenth of what a claim costs it). With `remote`,
 * the benchmark's Worker reaches a real Miniflare D1 in a second workerd process through this
 * binding, one HTTP request per D1 call, as the production binding makes one network request
 * per call: the coordinator pays for sending and reading answers, D1 for running them.
 *
 * The other side is `serveRemoteD1` below, the default export: bench/lib/host.ts runs this file as
 * the second process's Worker (it imports nothing, so it needs no bundling). The D1Database surface the pool uses (prepare/bind, first/run/all/raw, batch, exec), shaped
 * as D1's own results; D1's errors come back as errors with D1's message.
 */
export interface RemoteCall {
  op: "first" | "run" | "all" | "raw" | "batch" | "exec";
  statements?: { sql: string; params: unknown[] }[];
  column?: string;
  columnNames?: boolean;
  sql?: string;
}

export function remoteD1(host: Fetcher): D1Database {
  const call = async (body: RemoteCall): Promise<never> => {
    const res = await host.fetch("http://d1.bench/", { method: "POST", body: JSON.stringify(body) });
    const out = (await res.json()) as { result?: unknown; error?: string };
    if (!res.ok) throw new Error(out.error ?? `remote D1 answered ${res.status}`);
    return out.result as never;
  };

  class Statement {
    constructor(
      readonly sql: string,
      readonly params: unknown[] = [],
    ) {}
    bind(...values: unknown[]): Statement {
      return new Statement(this.sql, values);
    }
    first(column?: string) {
      return call({ op: "first", statements: [this.wire()], ...(column === undefined ? {} : { column }) });
    }
    run() {
      return call({ op: "run", statements: [this.wire()] });
    }
    all() {
      return call({ op: "all", statements: [this.wire()] });
    }
    raw(options?: { columnNames?: boolean }) {
      return call({ op: "raw", statements: [this.wire()], columnNames: options?.columnNames === true });
    }
    wire() {
      // D1 binds booleans as integers; JSON would carry them as true/false.
      return { sql: this.sql, params: this.params.map((v) => (typeof v === "boolean" ? Number(v) : v)) };
    }
  }

  return {
    prepare: (sql: string) => new Statement(sql),
    batch: (statements: Statement[]) => call({ op: "batch", statements: statements.map((s) => s.wire()) }),
    exec: (sql: string) => call({ op: "exec", sql }),
    withSession: () => {
      throw new Error("remote D1 (bench): sessions are not forwarded");
    },
    dump: () => {
      throw new Error("remote D1 (bench): dump is not forwarded");
    },
  } as unknown as D1Database;
}

/** The second process's Worker: runs each forwarded call on its own real (Miniflare) D1 binding and answers D1's result. */
export async function serveRemoteD1(request: Request, env: { DB: D1Database }): Promise<Response> {
  const call = (await request.json()) as RemoteCall;
  const prepared = (s: { sql: string; params: unknown[] }) => env.DB.prepare(s.sql).bind(...s.params);
  const first = call.statements?.[0];
  try {
    let result: unknown;
    if (call.op === "batch") result = await env.DB.batch(call.statements!.map(prepared));
    else if (call.op === "exec") result = await env.DB.exec(call.sql!);
    else if (!first) throw new Error(`remote D1 (bench): ${call.op} without a statement`);
    else if (call.op === "first") result = call.column === undefined ? await prepared(first).first() : await prepared(first).first(call.column);
    else if (call.op === "raw") result = call.columnNames ? await prepared(first).raw({ columnNames: true }) : await prepared(first).raw();
    else if (call.op === "run") result = await prepared(first).run();
    else result = await prepared(first).all();
    return Response.json({ result });
  } catch (err) {
    return Response.json({ error: (err as Error).message }, { status: 500 });
  }
}

export default { fetch: serveRemoteD1 };
