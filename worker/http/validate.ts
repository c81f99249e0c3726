import type { Context } from "hono";
import type { z } from "zod";
import { decodeUtf8 } from "../../runtime-container/contract/pool-runtime";
import { ApiError, describeIssues } from "./errors";

/**
 * Reads and validates a JSON body (strict UTF-8). An empty body is `{}` so routes whose fields are all
 * optional accept a bare POST; anything that is not JSON is a 400 (or 415 for a wrong
 * content type), never a 500.
 */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  // Strict UTF-8: a lenient read turns each bad byte into U+FFFD and passes it on, three times the size.
  const text = decodeUtf8(await c.req.arrayBuffer());
  if (text === null) throw new ApiError(400, "invalid_utf8", "body is not valid UTF-8");
  let raw: unknown = {};
  if (text.trim() !== "") {
    const type = c.req.header("content-type") ?? "";
    if (type && !/^application\/(.+\+)?json\b/i.test(type)) {
      throw new ApiError(415, "unsupported_media_type", "body must be JSON (Content-Type: application/json)");
    }
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ApiError(400, "invalid_json", "body is not valid JSON");
    }
  }
  return parse(schema, raw, "invalid_body");
}

export function parse<S extends z.ZodType>(schema: S, raw: unknown, code = "invalid_request"): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const { message, details } = describeIssues(result.error);
    throw new ApiError(400, code, message, details);
  }
  return result.data;
}
