import { and, asc, desc, eq } from "drizzle-orm";
import { Hono } from "hono";
import { SlugSchema } from "../api/schemas";
import { coordinator, settled } from "../coordinator";
import { database } from "../db/client";
import { countByStatus } from "../db/instances";
import { templates, type TemplateRow } from "../db/schema";
import { toTemplate } from "../catalog/store";
import { ApiError } from "../http/errors";
import { parse } from "../http/validate";
import { instanceResources } from "../providers/resources";
import { VERSION } from "../version";

/** Public, read-only routes: nothing here reveals an invite URL, a token or a key. */
export const publicRoutes = new Hono<{ Bindings: Env }>();

publicRoutes.get("/healthz", (c) => c.json({ ok: true, version: VERSION }));

publicRoutes.get("/api/pool/counts", async (c) => {
  await settled(c.env);
  const [counts, status] = await Promise.all([countByStatus(database(c.env.DB)), coordinator(c.env).status()]);
  // The original pool API's flat shape (clients read `data.idle`); extras sit beside the counts.
  return c.json({ ...counts, breaker: status.breaker.phase });
});

publicRoutes.get("/api/pool/info", async (c) => {
  const status = await coordinator(c.env).status();
  return c.json({
    environment: c.env.POOL_ENVIRONMENT,
    xmtpEnv: c.env.XMTP_ENV,
    version: VERSION,
    providers: { compute: c.env.COMPUTE_PROVIDER, enabled: instanceResources(c.env).enabled },
    breaker: status.breaker,
    lastTick: status.lastTick,
    nextTickAt: status.nextTickAt,
  });
});

publicRoutes.get("/api/pool/templates", async (c) => {
  const rows = await database(c.env.DB).select().from(templates).where(eq(templates.published, true)).orderBy(desc(templates.featured), asc(templates.name));
  return c.json({ templates: rows.map(templateView) });
});

publicRoutes.get("/api/pool/templates/:slug", async (c) => {
  const slug = parse(SlugSchema, c.req.param("slug"), "invalid_slug");
  const [row] = await database(c.env.DB)
    .select()
    .from(templates)
    .where(and(eq(templates.slug, slug), eq(templates.published, true)))
    .limit(1);
  if (!row) throw new ApiError(404, "not_found", `template "${slug}" does not exist`);
  return c.json(templateView(row));
});

/** The public shape of a template: the operator's view without its bookkeeping timestamps. */
function templateView(row: TemplateRow) {
  const { createdAt: _created, updatedAt: _updated, ...view } = toTemplate(row);
  return view;
}
