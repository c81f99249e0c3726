import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { adminRoutes } from "./admin/routes";
import { openApiDocument } from "./api/openapi";
import { catalogRoutes } from "./catalog/routes";
import { ApiError, errorBody, errorResponse } from "./http/errors";
import { log } from "./lib/log";
import { creditRoutes } from "./routes/credits";
import { metricsRoutes } from "./routes/metrics";
import { poolRoutes } from "./routes/pool";
import { promptRoutes } from "./routes/prompts";
import { rolloutRoutes } from "./routes/rollouts";
import { publicRoutes } from "./routes/public";
import { templateRoutes } from "./routes/templates";
import { loggablePath, webhookRoutes } from "./routes/webhooks";

const MAX_BODY_BYTES = 64 * 1024;

export const app = new Hono<{ Bindings: Env }>();

app.use(
  "*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => c.json(errorBody("payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`), 413),
  }),
);

app.route("/", publicRoutes);
app.route("/", metricsRoutes);
app.route("/api/pool", poolRoutes);
app.route("/api/pool", creditRoutes);
app.route("/api/prompts", promptRoutes);
app.route("/api/pool", templateRoutes);
app.route("/api/webhooks", webhookRoutes);
app.route("/api/pool", rolloutRoutes);
app.route("/", catalogRoutes);
app.route("/admin", adminRoutes);
app.get("/api/openapi.json", (c) => c.json(openApiDocument()));

app.notFound((c) => c.json(errorBody("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

app.onError((err, c) => {
  if (err instanceof ApiError) return errorResponse(c, err);
  if (err instanceof HTTPException) return c.json(errorBody("http_error", err.message || "request rejected"), err.status);
  log.error("unhandled error", { path: loggablePath(new URL(c.req.url).pathname), error: err.message });
  return c.json(errorBody("internal_error", "something went wrong on our side"), 500);
});
