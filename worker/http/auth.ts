import type { MiddlewareHandler } from "hono";
import { secretsEqual } from "../crypto/compare";
import { ApiError } from "./errors";

/** Bearer `POOL_API_KEY`, compared in constant time. */
export function requirePoolKey(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) {
      throw new ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer <POOL_API_KEY>)", undefined, {
        "WWW-Authenticate": 'Bearer realm="pool"',
      });
    }
    if (!(await secretsEqual(match[1]!.trim(), c.env.POOL_API_KEY))) {
      throw new ApiError(401, "unauthorized", "invalid bearer token", undefined, { "WWW-Authenticate": 'Bearer realm="pool", error="invalid_token"' });
    }
    await next();
  };
}
