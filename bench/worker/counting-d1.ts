/**
 * A D1 binding that counts what crosses to D1, for the benchmarks (bench/worker/entry.ts wraps
 * the Worker's and the coordinator's `env.DB` with it; production code is untouched). Every
 * `first`/`run`/`all`/`raw` of a prepared statement is one round trip carrying one statement;
 * a `batch` is one round trip carrying all its statements; an `exec` is one round trip carrying
 * as many statements as D1 reports it ran.
 */
export interface D1Counters {
  d1RoundTrips: number;
  d1Statements: number;
  d1Batches: number;
}

export const emptyD1Counters = (): D1Counters => ({ d1RoundTrips: 0, d1Statements: 0, d1Batches: 0 });

const SENDS = new Set(["first", "run", "all", "raw"]);

export function countingD1(d1: D1Database, counters: D1Counters): D1Database {
  // D1's own batch() only accepts its own statement objects: remember each wrapper's original.
  const originals = new WeakMap<object, D1PreparedStatement>();
  const wrapStatement = (stmt: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...values: unknown[]) => wrapStatement(target.bind(...values));
        if (typeof prop === "string" && SENDS.has(prop)) {
          return (...args: unknown[]) => {
            counters.d1RoundTrips++;
            counters.d1Statements++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    originals.set(proxy, stmt);
    return proxy;
  };
  return new Proxy(d1, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql));
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          counters.d1RoundTrips++;
          counters.d1Batches++;
          counters.d1Statements += statements.length;
          return target.batch(statements.map((s) => originals.get(s) ?? s));
        };
      }
      if (prop === "exec") {
        return async (sql: string) => {
          counters.d1RoundTrips++;
          const result = await target.exec(sql);
          counters.d1Statements += result.count;
          return result;
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
