import { bearer, FaultPlan, faultResponse, json } from "./faults.ts";

/**
 * OpenRouter's key-management API (openrouter.ai/api/v1/keys), as the OpenAPI extract in
 * test/support/fixtures/openrouter describes it: management-key auth, `{data, key}` on create
 * (201), `{data}` on read, `{deleted: true}` on delete, `{error: {code, message}}` on failure.
 */
export const OPENROUTER_HOST = "openrouter.ai";

interface FakeKey {
  hash: string;
  key: string;
  name: string;
  limit: number | null;
  limit_reset: string | null;
  usage: number;
  disabled: boolean;
  created_at: string;
  updated_at: string | null;
}

const error = (code: number, message: string) => ({ error: { code, message, metadata: null }, user_id: null });
const MESSAGES: Record<number, string> = {
  400: "Invalid request",
  401: "Missing Authentication header",
  404: "Resource not found",
  429: "Rate limit exceeded",
  500: "Internal Server Error",
  502: "Bad gateway",
  503: "Service unavailable",
};

export function createFakeOpenRouter(opts: { managementKey: string }) {
  const faults = new FaultPlan();
  let keys = new Map<string, FakeKey>();
  let seq = 0;

  const view = (k: FakeKey) => ({
    hash: k.hash,
    name: k.name,
    label: `${k.key.slice(0, 12)}...${k.key.slice(-4)}`,
    disabled: k.disabled,
    limit: k.limit,
    limit_remaining: k.limit === null ? null : Math.max(0, k.limit - k.usage),
    limit_reset: k.limit_reset,
    include_byok_in_limit: false,
    usage: k.usage,
    usage_daily: k.usage,
    usage_weekly: k.usage,
    usage_monthly: k.usage,
    byok_usage: 0,
    byok_usage_daily: 0,
    byok_usage_weekly: 0,
    byok_usage_monthly: 0,
    created_at: k.created_at,
    updated_at: k.updated_at,
    expires_at: null,
    creator_user_id: null,
    workspace_id: "00000000-0000-4000-8000-000000000000",
  });

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const keyPath = /^\/api\/v1\/keys\/([^/]+)$/.exec(url.pathname);
    const op =
      url.pathname === "/api/v1/key"
        ? `${request.method} /api/v1/key`
        : url.pathname === "/api/v1/keys"
          ? `${request.method} /api/v1/keys`
          : keyPath
            ? `${request.method} /api/v1/keys/{hash}`
            : `${request.method} ${url.pathname}`;
    const epoch = faults.epoch;
    const rule = faults.take(op);
    if (rule) {
      const res = await faultResponse(rule, (s) => error(s, MESSAGES[s] ?? "error"));
      if (res) {
        faults.record(op, res.status, epoch);
        return res;
      }
      // A delayed call that outlived its test must not change the next test's state.
      if (epoch !== faults.epoch) return new Response(null, { status: 503 });
    }
    const res = route(request, url, keyPath?.[1], op);
    const out = await res;
    faults.record(op, out.status, epoch);
    return out;
  }

  async function route(request: Request, url: URL, hash: string | undefined, op: string): Promise<Response> {
    // GET /api/v1/key is the one call a key makes about itself, with itself as the bearer.
    if (op === "GET /api/v1/key") {
      const own = [...keys.values()].find((k) => k.key === bearer(request));
      if (!own) return json(error(401, MESSAGES[401]!), 401);
      const { hash: _h, name: _n, created_at: _c, updated_at: _u, workspace_id: _w, disabled: _d, ...rest } = view(own);
      return json({
        data: {
          ...rest,
          is_free_tier: false,
          is_management_key: false,
          is_provisioning_key: false,
          rate_limit: { interval: "1h", note: "This field is deprecated and safe to ignore.", requests: 1000 },
        },
      });
    }
    if (bearer(request) !== opts.managementKey) return json(error(401, MESSAGES[401]!), 401);
    switch (op) {
      case "POST /api/v1/keys": {
        const body = (await request.json().catch(() => null)) as Record<string, unknown> | null;
        if (!body || typeof body.name !== "string" || body.name === "") return json(error(400, "name: Required"), 400);
        if (body.limit !== undefined && body.limit !== null && typeof body.limit !== "number") return json(error(400, "limit: Expected number"), 400);
        if (body.limit_reset !== undefined && body.limit_reset !== null && !["daily", "weekly", "monthly"].includes(body.limit_reset as string)) {
          return json(error(400, "limit_reset: Invalid enum value"), 400);
        }
        const n = ++seq;
        const k: FakeKey = {
          hash: `${n.toString(16).padStart(8, "0")}${"ab".repeat(28)}`,
          key: `sk-or-v1-${n.toString(16).padStart(8, "0")}${"f".repeat(56)}`,
          name: body.name,
          limit: (body.limit as number | null | undefined) ?? null,
          limit_reset: (body.limit_reset as string | null | undefined) ?? null,
          usage: 0,
          disabled: false,
          created_at: new Date().toISOString(),
          updated_at: null,
        };
        keys.set(k.hash, k);
        return json({ data: view(k), key: k.key }, 201);
      }
      case "GET /api/v1/keys": {
        const offset = Number(url.searchParams.get("offset") ?? 0);
        return json({ data: [...keys.values()].slice(offset, offset + 100).map(view) });
      }
      case "GET /api/v1/keys/{hash}": {
        const k = keys.get(hash!);
        return k ? json({ data: view(k) }) : json(error(404, MESSAGES[404]!), 404);
      }
      case "PATCH /api/v1/keys/{hash}": {
        const k = keys.get(hash!);
        if (!k) return json(error(404, MESSAGES[404]!), 404);
        const body = (await request.json().catch(() => null)) as Record<string, unknown> | null;
        if (!body || typeof body !== "object" || Array.isArray(body)) return json(error(400, "Invalid request body"), 400);
        if (body.limit !== undefined && body.limit !== null && typeof body.limit !== "number") return json(error(400, "limit: Expected number"), 400);
        if (body.limit_reset !== undefined && body.limit_reset !== null && !["daily", "weekly", "monthly"].includes(body.limit_reset as string)) {
          return json(error(400, "limit_reset: Invalid enum value"), 400);
        }
        if (body.name !== undefined && typeof body.name !== "string") return json(error(400, "name: Expected string"), 400);
        if (body.disabled !== undefined && typeof body.disabled !== "boolean") return json(error(400, "disabled: Expected boolean"), 400);
        if (body.limit !== undefined) k.limit = body.limit as number | null;
        if (body.limit_reset !== undefined) k.limit_reset = body.limit_reset as string | null;
        if (body.name !== undefined) k.name = body.name as string;
        if (body.disabled !== undefined) k.disabled = body.disabled as boolean;
        k.updated_at = new Date().toISOString();
        return json({ data: view(k) });
      }
      case "DELETE /api/v1/keys/{hash}": {
        return keys.delete(hash!) ? json({ deleted: true }) : json(error(404, MESSAGES[404]!), 404);
      }
      default:
        return json(error(404, "Not Found"), 404);
    }
  }

  return {
    host: OPENROUTER_HOST,
    faults,
    fetch: handle,
    reset() {
      keys = new Map();
      faults.reset();
    },
    setUsage(hash: string, usd: number) {
      const k = keys.get(hash);
      if (k) k.usage = usd;
      return Boolean(k);
    },
    state() {
      return { keys: [...keys.values()].map((k) => ({ hash: k.hash, name: k.name, limit: k.limit, limit_reset: k.limit_reset, usage: k.usage, key: k.key })), calls: faults.calls };
    },
  };
}
