import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { secretsEqual } from "../crypto/compare";
import { database } from "../db/client";
import { templates } from "../db/schema";
import { ApiError } from "../http/errors";
import { log } from "../lib/log";
import { cachedPrompt, normalizePageId } from "../providers/notion";

/**
 * `GET /api/prompts/:pageId`: a template prompt read from Notion, cached for an hour. The
 * prompt of a published template is public like the template itself; any other page needs the
 * pool key, so the integration's other pages cannot be read through us.
 */
export const promptRoutes = new Hono<{ Bindings: Env }>();

promptRoutes.get("/:pageId", async (c) => {
  const raw = c.req.param("pageId");
  const pageId = normalizePageId(raw);
  if (!pageId) {
    throw new ApiError(400, "invalid_page_id", "pageId must be a Notion page id: 32 hex digits (dashes allowed)", [{ path: "pageId", message: "expected 32 hex digits" }]);
  }
  const apiKey = c.env.NOTION_API_KEY?.trim();
  if (!apiKey) throw new ApiError(503, "notion_not_configured", "Notion prompts are disabled on this pool: NOTION_API_KEY is not set");
  if (!(await mayRead(c.env, c.req.header("authorization"), pageId))) {
    throw new ApiError(401, "unauthorized", "this page is not a published template's prompt; reading it needs the pool key (Authorization: Bearer <POOL_API_KEY>)");
  }

  const result = await cachedPrompt(c.env, pageId);
  if (!result.ok) {
    if (result.reason === "not_found") throw new ApiError(404, "notion_page_not_found", result.message);
    log.warn("notion prompt unavailable", { pageId, error: result.message });
    throw new ApiError(502, "notion_unavailable", "Notion could not be read right now; try again shortly");
  }
  return c.json({ ...result.prompt, cached: result.cached });
});

async function mayRead(env: Env, authorization: string | undefined, pageId: string): Promise<boolean> {
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization ?? "")?.[1]?.trim();
  if (bearer && (await secretsEqual(bearer, env.POOL_API_KEY))) return true;
  const [row] = await database(env.DB)
    .select({ slug: templates.slug })
    .from(templates)
    .where(and(eq(templates.published, true), sql`replace(lower(${templates.notionPageId}), '-', '') = ${pageId}`))
    .limit(1);
  return Boolean(row);
}
