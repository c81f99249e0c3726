import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { ErrorBody } from "../../runtime-container/contract/pool-runtime";

/** The one error shape of the API and of the instances: `{ error: { code, message, details? } }`. */
export { type ErrorBody, ErrorBodySchema } from "../../runtime-container/contract/pool-runtime";

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function errorResponse(c: Context, err: ApiError): Response {
  for (const [k, v] of Object.entries(err.headers ?? {})) c.header(k, v);
  return c.json(errorBody(err.code, err.message, err.details), err.status);
}

/** Turns zod issues into a message that names each offending field. */
export function describeIssues(error: z.ZodError): { message: string; details: { path: string; message: string }[] } {
  const details = error.issues.map((issue) => {
    const path = issue.path.length ? issue.path.join(".") : "(body)";
    if (issue.code === "unrecognized_keys") {
      return { path: issue.keys.join(", "), message: `unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}` };
    }
    return { path, message: issue.message };
  });
  return { message: details.map((d) => (d.message.startsWith("unknown field") ? d.message : `${d.path}: ${d.message}`)).join("; "), details };
}
