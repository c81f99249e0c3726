import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { WebhookAnswer } from "../api/schemas";
import { coordinator } from "../coordinator";
import { secretsEqual } from "../crypto/compare";
import { foreignEvent, MAX_FUTURE_SKEW_MS, normalizeEvent } from "../domain/deployment-events";
import { ApiError, errorBody } from "../http/errors";
import { clientAddress, hitRateLimit } from "../http/rate-limit";
import { jsonBody, parse } from "../http/validate";
import { railwayEventSchema } from "../providers/railway/webhook";

/**
 * Railway's deployment webhooks (SPEC §6): a crashed container is noticed in seconds instead of
 * at the next tick. Railway does not sign its deliveries, so the URL carries a secret of its
 * own, RAILWAY_WEBHOOK_SECRET (never the pool key): `POST /api/webhooks/railway/<secret>`.
 */
export const webhookRoutes = new Hono<{ Bindings: Env }>();

/** A request path fit for a log line: the webhook's secret segment left out (it is the credential). */
export function loggablePath(pathname: string): string {
  return pathname.replace(/^(\/api\/webhooks\/railway\/)[^/]+/, "$1[redacted]");
}

/** Railway's payloads are a few hundred bytes; anything near this is not one. */
export const WEBHOOK_MAX_BYTES = 16 * 1024;
/** Deliveries per client address per window, counted before the secret is checked (a crash wave of a large pool stays well under it). */
export const WEBHOOK_CLIENT_LIMIT = 600;
export const WEBHOOK_WINDOW_MS = 60_000;

webhookRoutes.post(
  "/railway/:secret",
  bodyLimit({ maxSize: WEBHOOK_MAX_BYTES, onError: (c) => c.json(errorBody("payload_too_large", `webhook body exceeds ${WEBHOOK_MAX_BYTES} bytes`), 413) }),
  async (c) => {
    const limit = await hitRateLimit(c.env.DB, `webhook:railway:${clientAddress(c.req.raw.headers)}`, WEBHOOK_CLIENT_LIMIT, WEBHOOK_WINDOW_MS);
    if (!limit.allowed) {
      throw new ApiError(429, "rate_limited", `too many webhook deliveries from this address; retry in ${limit.retryAfterSeconds} s`, undefined, { "Retry-After": String(limit.retryAfterSeconds) });
    }
    // Not configured and a wrong secret answer alike, so a caller learns neither which it was nor that the route is live.
    if (!(await secretsEqual(c.req.param("secret"), c.env.RAILWAY_WEBHOOK_SECRET ?? ""))) throw new ApiError(404, "not_found", "no such webhook");

    const raw = await jsonBody(c, z.unknown());
    const body = parse(railwayEventSchema(raw), raw, "invalid_event");
    const normalized = normalizeEvent(body);
    const stub = coordinator(c.env);
    if (!normalized.ok) {
      await stub.countIgnoredEvent(body.type, "not_deployment");
      return c.json<WebhookAnswer>({ outcome: "ignored", reason: "not_deployment", message: normalized.ignored, instanceId: null, report: null }, 202);
    }
    const event = normalized.event;
    if (event.at > Date.now() + MAX_FUTURE_SKEW_MS) {
      const message = `timestamp ${body.timestamp} is more than ${MAX_FUTURE_SKEW_MS / 60_000} minutes in the future`;
      throw new ApiError(400, "invalid_event", message, [{ path: "timestamp", message }]);
    }
    const foreign = foreignEvent(event, { projectId: c.env.RAILWAY_PROJECT_ID, environmentId: c.env.RAILWAY_ENVIRONMENT_ID });
    if (foreign) {
      await stub.countIgnoredEvent(event.type, "foreign");
      return c.json<WebhookAnswer>({ outcome: "ignored", reason: "foreign", message: foreign, instanceId: null, report: null }, 202);
    }
    const answer = await stub.deploymentEvent(event);
    return c.json(answer, answer.outcome === "applied" ? 200 : 202);
  },
);
