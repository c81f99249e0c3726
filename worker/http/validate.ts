import type { Context } from "hono";
import type { z } from "zod";
import { ApiError, describeIssues } from "./errors";

/**
 * Reads and validates a JSON body. An empty body is `{}` so routes whose fields are all
 * optional accept a bare POST; anything that is not JSON is a 400 (or 415 for a wrong
 * content type), never a 500.
 */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const text = await c.req.text();
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
