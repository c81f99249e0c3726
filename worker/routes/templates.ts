import { Hono } from "hono";
import { SlugSchema } from "../api/schemas";
import {
  allTemplates,
  createTemplate,
  deleteTemplate,
  findTemplate,
  TemplateCreateSchema,
  TemplatePatchSchema,
  TemplateReplaceSchema,
  toTemplate,
  updateTemplate,
  type WriteResult,
} from "../catalog/store";
import { requirePoolKey } from "../http/auth";
import { ApiError } from "../http/errors";
import { jsonBody, parse } from "../http/validate";

/**
 * Template management for operators (bearer POOL_API_KEY). The public reads stay in
 * routes/public.ts and only ever show published templates; `GET /api/pool/templates-all`
 * here includes drafts. Mounted at /api/pool.
 */
export const templateRoutes = new Hono<{ Bindings: Env }>();

const auth = requirePoolKey();

templateRoutes.get("/catalog/templates", auth, async (c) => c.json({ templates: (await allTemplates(c.env.DB)).map(toTemplate) }));

templateRoutes.post("/templates", auth, async (c) => {
  const input = await jsonBody(c, TemplateCreateSchema);
  const row = written(await createTemplate(c.env.DB, input));
  return c.json(toTemplate(row), 201, { Location: `/api/pool/templates/${row.slug}` });
});

templateRoutes.put("/templates/:slug", auth, async (c) => {
  const slug = parse(SlugSchema, c.req.param("slug"), "invalid_slug");
  const input = await jsonBody(c, TemplateReplaceSchema);
  return c.json(toTemplate(written(await updateTemplate(c.env.DB, slug, input))));
});

templateRoutes.patch("/templates/:slug", auth, async (c) => {
  const slug = parse(SlugSchema, c.req.param("slug"), "invalid_slug");
  const patch = await jsonBody(c, TemplatePatchSchema);
  return c.json(toTemplate(written(await updateTemplate(c.env.DB, slug, patch))));
});

templateRoutes.delete("/templates/:slug", auth, async (c) => {
  const slug = parse(SlugSchema, c.req.param("slug"), "invalid_slug");
  if (!(await deleteTemplate(c.env.DB, slug))) throw new ApiError(404, "not_found", `template "${slug}" does not exist`);
  return c.json({ deleted: slug });
});

/** Drafts are visible to operators by slug too (the public route 404s on them). */
templateRoutes.get("/catalog/templates/:slug", auth, async (c) => {
  const slug = parse(SlugSchema, c.req.param("slug"), "invalid_slug");
  const row = await findTemplate(c.env.DB, slug, { publishedOnly: false });
  if (!row) throw new ApiError(404, "not_found", `template "${slug}" does not exist`);
  return c.json(toTemplate(row));
});

function written(result: WriteResult) {
  if (result.ok) return result.row;
  const details = result.field ? [{ path: result.field, message: result.message }] : undefined;
  switch (result.code) {
    case "duplicate":
      throw new ApiError(409, "duplicate_slug", result.message, details);
    case "not_found":
      throw new ApiError(404, "not_found", result.message);
    case "invalid":
      throw new ApiError(400, "invalid_body", result.message, details);
  }
}
