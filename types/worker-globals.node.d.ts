// Node-side code (benchmarks, contract tests, fakes) imports Worker modules. Those modules are
// type-checked for real under tsconfig.json with the Workers runtime types; the Node program
// only needs the global names they use, without the Workers globals that clash with Node's.
type D1Database = import("@cloudflare/workers-types/index").D1Database;
type D1PreparedStatement = import("@cloudflare/workers-types/index").D1PreparedStatement;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Env = any;
/** Workers' default cache, used by the Notion prompt cache. */
interface CacheStorage {
  readonly default: Cache;
}
