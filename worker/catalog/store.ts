import { and, asc, desc, eq, inArray, isNotNull } from "drizzle-orm";
import { z } from "zod";
import { SlugSchema, TemplateSchema, type Template } from "../api/schemas";
import { database } from "../db/client";
import { instances, templates, type TemplateRow } from "../db/schema";
import { advertisedSkills, fleetCapabilities } from "../domain/advertised-skills";

/**
 * Templates as operators write them (API and admin share these rules). A Notion page id may
 * be pasted the way Notion shows it — with dashes, or as the page URL — and is stored as the
 * 32 hex digits the prompts endpoint expects.
 */
function normalizeNotionPageId(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const trimmed = value.trim();
  if (trimmed === "") return null;
  const compact = trimmed.toLowerCase().replace(/-/g, "");
  if (/^[0-9a-f]{32}$/.test(compact)) return compact;
  // A Notion URL ends in the page id, possibly after a title slug: …/Trip-planner-1a2b…
  const fromUrl = /([0-9a-f]{32})(?:[?#].*)?$/.exec(compact);
  return fromUrl ? fromUrl[1] : trimmed;
}

const NotionPageIdInput = z.preprocess(
  normalizeNotionPageId,
  z
    .string()
    .regex(/^[0-9a-f]{32}$/, "must be a Notion page id (32 hex digits, dashes allowed) or the page's URL")
    .nullable(),
);

const emptyToNull = (v: unknown) => (typeof v === "string" && v.trim() === "" ? null : v);

const fields = {
  name: TemplateSchema.shape.name.trim().min(1),
  description: TemplateSchema.shape.description.trim().min(1),
  category: TemplateSchema.shape.category.trim().min(1),
  emoji: TemplateSchema.shape.emoji.trim().min(1),
  skills: TemplateSchema.shape.skills,
  instructions: z.preprocess(emptyToNull, TemplateSchema.shape.instructions),
  notionPageId: NotionPageIdInput,
  featured: TemplateSchema.shape.featured,
  published: TemplateSchema.shape.published,
};

const needsInstructions = (t: { instructions?: string | null; notionPageId?: string | null }) => Boolean(t.instructions?.trim()) || Boolean(t.notionPageId);
const INSTRUCTIONS_REQUIRED = "a template needs instructions or a notionPageId (or both: the Notion page wins, the inline text is the fallback)";
// A fresh object per schema: zod takes ownership of (and rewrites) the params it is given.
const instructionsRequired = () => ({ message: INSTRUCTIONS_REQUIRED, path: ["instructions"] });

/** POST body: a new template. Optional fields get the defaults an operator would expect. */
export const TemplateCreateSchema = z
  .object({
    slug: SlugSchema,
    ...fields,
    skills: fields.skills.default([]),
    instructions: fields.instructions.default(null),
    notionPageId: fields.notionPageId.default(null),
    featured: fields.featured.default(false),
    published: fields.published.default(true),
  })
  .strict()
  .refine(needsInstructions, instructionsRequired());
export type TemplateCreate = z.infer<typeof TemplateCreateSchema>;

/** PUT body: the whole template except its slug, which is the URL. */
export const TemplateReplaceSchema = z
  .object({
    ...fields,
    skills: fields.skills.default([]),
    instructions: fields.instructions.default(null),
    notionPageId: fields.notionPageId.default(null),
    featured: fields.featured.default(false),
    published: fields.published.default(true),
  })
  .strict()
  .refine(needsInstructions, instructionsRequired());

/** PATCH body: any subset; the merged template must still have instructions. */
export const TemplatePatchSchema = z.object(fields).partial().strict();
export type TemplatePatch = z.infer<typeof TemplatePatchSchema>;

export function toTemplate(row: TemplateRow): Template & { createdAt: number; updatedAt: number } {
  return {
    slug: row.slug,
    name: row.name,
    description: row.description,
    category: row.category,
    emoji: row.emoji,
    skills: row.skills,
    instructions: row.instructions,
    notionPageId: row.notionPageId,
    featured: row.featured,
    published: row.published,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export async function publishedTemplates(d1: D1Database): Promise<TemplateRow[]> {
  return database(d1).select().from(templates).where(eq(templates.published, true)).orderBy(desc(templates.featured), asc(templates.name));
}

export async function allTemplates(d1: D1Database): Promise<TemplateRow[]> {
  return database(d1).select().from(templates).orderBy(desc(templates.featured), asc(templates.name));
}

export async function findTemplate(d1: D1Database, slug: string, opts: { publishedOnly: boolean }): Promise<TemplateRow | null> {
  const where = opts.publishedOnly ? and(eq(templates.slug, slug), eq(templates.published, true)) : eq(templates.slug, slug);
  const [row] = await database(d1).select().from(templates).where(where).limit(1);
  return row ?? null;
}

export type WriteResult = { ok: true; row: TemplateRow } | { ok: false; code: "duplicate" | "not_found" | "invalid"; message: string; field?: string };

export async function createTemplate(d1: D1Database, input: TemplateCreate, now = Date.now()): Promise<WriteResult> {
  // One conditional insert: two concurrent creates of the same slug cannot both win.
  const [row] = await database(d1)
    .insert(templates)
    .values({ ...input, createdAt: now, updatedAt: now })
    .onConflictDoNothing({ target: templates.slug })
    .returning();
  if (!row) return { ok: false, code: "duplicate", message: `a template with slug "${input.slug}" already exists`, field: "slug" };
  return { ok: true, row };
}

export async function updateTemplate(d1: D1Database, slug: string, patch: TemplatePatch, now = Date.now()): Promise<WriteResult> {
  const current = await findTemplate(d1, slug, { publishedOnly: false });
  if (!current) return { ok: false, code: "not_found", message: `template "${slug}" does not exist` };
  const merged = { ...current, ...patch };
  if (!needsInstructions(merged)) return { ok: false, code: "invalid", message: INSTRUCTIONS_REQUIRED, field: "instructions" };
  const [row] = await database(d1)
    .update(templates)
    .set({ ...patch, updatedAt: now })
    .where(eq(templates.slug, slug))
    .returning();
  if (!row) return { ok: false, code: "not_found", message: `template "${slug}" does not exist` };
  return { ok: true, row };
}

export async function deleteTemplate(d1: D1Database, slug: string): Promise<boolean> {
  const rows = await database(d1).delete(templates).where(eq(templates.slug, slug)).returning({ slug: templates.slug });
  return rows.length > 0;
}

/** What the instances a claim can hand out (idle) or has handed out (claimed) report they can do. */
export async function reportedCapabilities(d1: D1Database): Promise<Set<string>> {
  const rows = await database(d1)
    .select({ capabilities: instances.capabilities })
    .from(instances)
    .where(and(inArray(instances.status, ["idle", "claimed"]), isNotNull(instances.capabilities)));
  return fleetCapabilities(rows.map((r) => r.capabilities));
}

/** Templates as the public catalog shows them: skill tags only for what agents really have. */
export function asAdvertised<T extends { skills: string[] }>(template: T, fleet: ReadonlySet<string>): T {
  return { ...template, skills: advertisedSkills(template.skills, fleet) };
}
