import { Hono } from "hono";
import type { z } from "zod";
import { SlugSchema } from "../api/schemas";
import { notionPromptText } from "../catalog/instructions";
import { allTemplates, createTemplate, deleteTemplate, findTemplate, TemplateCreateSchema, TemplateReplaceSchema, updateTemplate } from "../catalog/store";
import { type AdminContext, type AdminEnv, messagePage, pageContext, redirectWithFlash, takeFlash } from "./kit";
import type { FormState } from "./pages/common";
import { ConfirmDeletePage, TEMPLATE_FIELDS, TemplateFormPage, templateFormValues, TemplatesListPage } from "./templates-pages";

/**
 * /admin/templates: the catalog's templates for operators. Runs behind the dashboard's
 * session, CSRF and secure headers (mounted from routes.tsx); writes go through the same
 * validation and store as the bearer API.
 */
export const templateAdminRoutes = new Hono<AdminEnv>();

templateAdminRoutes.get("/", async (c) => c.html(<TemplatesListPage ctx={pageContext(c)} rows={await allTemplates(c.env.DB)} flash={await takeFlash(c)} />));

templateAdminRoutes.get("/new", (c) => c.html(<TemplateFormPage ctx={pageContext(c)} mode="new" form={{ values: { featured: "no", published: "yes" }, errors: {} }} />));

templateAdminRoutes.post("/new", async (c) => {
  const values = formValues(c);
  const parsed = TemplateCreateSchema.safeParse(toInput(values, true));
  if (!parsed.success) return invalid(c, "new", undefined, values, parsed.error);
  const out = await createTemplate(c.env.DB, parsed.data);
  if (!out.ok) return rejected(c, "new", undefined, values, { [out.field ?? "slug"]: out.message });
  return redirectWithFlash(c, "/admin/templates", { kind: "ok", text: `Created ${out.row.name}.${out.row.published ? ` It is live at /a/${out.row.slug}.` : " It is a draft."}` });
});

templateAdminRoutes.get("/:slug", async (c) => {
  const row = await templateOf(c);
  if (!row) return missing(c);
  const notion = row.notionPageId ? await notionPromptText(c.env, row.notionPageId) : null;
  return c.html(<TemplateFormPage ctx={pageContext(c)} mode="edit" slug={row.slug} form={{ values: templateFormValues(row), errors: {} }} flash={await takeFlash(c)} notion={notion} />);
});

templateAdminRoutes.post("/:slug", async (c) => {
  const row = await templateOf(c);
  if (!row) return missing(c);
  const values = formValues(c);
  const parsed = TemplateReplaceSchema.safeParse(toInput(values, false));
  if (!parsed.success) return invalid(c, "edit", row.slug, values, parsed.error);
  const out = await updateTemplate(c.env.DB, row.slug, parsed.data);
  if (!out.ok) {
    if (out.code === "not_found") return missing(c);
    return rejected(c, "edit", row.slug, values, { [out.field ?? "name"]: out.message });
  }
  return redirectWithFlash(c, "/admin/templates", { kind: "ok", text: `Saved ${out.row.name}.` });
});

templateAdminRoutes.post("/:slug/delete", async (c) => {
  const row = await templateOf(c);
  if (!row) return missing(c);
  if (c.get("form").confirmed !== "yes") return c.html(<ConfirmDeletePage ctx={pageContext(c)} t={row} />);
  await deleteTemplate(c.env.DB, row.slug);
  return redirectWithFlash(c, "/admin/templates", { kind: "ok", text: `Deleted ${row.name}.` });
});

async function templateOf(c: AdminContext) {
  const slug = SlugSchema.safeParse(c.req.param("slug"));
  return slug.success ? findTemplate(c.env.DB, slug.data, { publishedOnly: false }) : null;
}

function missing(c: AdminContext) {
  return messagePage(c, 404, "No such template", `There is no template "${c.req.param("slug")}".`);
}

function formValues(c: AdminContext): Record<string, string> {
  const form = c.get("form");
  const values: Record<string, string> = {};
  for (const key of TEMPLATE_FIELDS) values[key] = (form[key] ?? "").trim();
  return values;
}

/** Form strings → the API's shape; the schema then does all the checking. */
function toInput(values: Record<string, string>, withSlug: boolean): Record<string, unknown> {
  return {
    ...(withSlug ? { slug: values.slug } : {}),
    name: values.name,
    emoji: values.emoji,
    category: values.category,
    description: values.description,
    skills: [
      ...new Set(
        (values.skills ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ],
    instructions: values.instructions || null,
    notionPageId: values.notionPageId || null,
    featured: values.featured === "yes",
    published: values.published === "yes",
  };
}

function invalid(c: AdminContext, mode: "new" | "edit", slug: string | undefined, values: Record<string, string>, error: z.ZodError) {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? "name");
    errors[field] ??= issue.message;
  }
  return rejected(c, mode, slug, values, errors);
}

function rejected(c: AdminContext, mode: "new" | "edit", slug: string | undefined, values: Record<string, string>, errors: FormState["errors"]) {
  return c.html(
    <TemplateFormPage ctx={pageContext(c)} mode={mode} slug={slug} form={{ values, errors, error: "Nothing was saved: fix the fields marked below." }} />,
    mode === "new" && Object.values(errors).some((e) => /already exists/.test(e)) ? 409 : 400,
  );
}
