import { Hono } from "hono";
import { z } from "zod";
import type { TemplateRow } from "../db/schema";
import { ApiError, errorBody, ErrorBodySchema, errorResponse } from "../http/errors";
import { log } from "../lib/log";
import { promptRoutes } from "../routes/prompts";

/**
 * Where a template's instructions come from when a public claim starts an agent.
 *
 * Inline instructions are resolved by the coordinator itself from the template slug. A Notion
 * page id is resolved here, before the claim, and sent as the claim's `instructions`: the
 * Notion page wins and the inline text is the fallback when Notion cannot be read.
 */
export type PromptText =
  | { ok: true; text: string }
  | { ok: false; reason: "not_configured" | "not_found" | "unavailable"; message: string };

export type ClaimInstructions = { ok: true; instructions: string | undefined; source: "inline" | "notion" } | { ok: false; message: string };

export async function claimInstructions(env: Env, template: Pick<TemplateRow, "slug" | "instructions" | "notionPageId">): Promise<ClaimInstructions> {
  if (!template.notionPageId) return { ok: true, instructions: undefined, source: "inline" };
  const page = await notionPromptText(env, template.notionPageId);
  if (page.ok && page.text.trim() !== "") return { ok: true, instructions: page.text, source: "notion" };
  const why = page.ok ? "the Notion page is empty" : page.message;
  if (template.instructions?.trim()) {
    log.warn("template's Notion prompt unavailable; using its inline instructions", { template: template.slug, why });
    return { ok: true, instructions: undefined, source: "inline" };
  }
  log.error("template has no usable instructions", { template: template.slug, why });
  return { ok: false, message: "This agent's instructions could not be loaded right now. Please try again in a few minutes." };
}

/**
 * The one seam to Notion: the prompts endpoint (`GET /api/prompts/:pageId`, routes/prompts.ts),
 * called in-process so the catalog shares its Notion client, its hour-long cache and its rule
 * that only published templates' pages are readable without the pool key.
 */
export async function notionPromptText(env: Env, pageId: string, opts: { asOperator?: boolean } = {}): Promise<PromptText> {
  const headers: Record<string, string> = { accept: "application/json" };
  // Operators may read drafts' pages too; the key only travels inside this Worker.
  if (opts.asOperator) headers.authorization = `Bearer ${env.POOL_API_KEY}`;
  const res = await promptsEndpoint.request(`/${encodeURIComponent(pageId)}`, { headers }, env);
  const body: unknown = await res.json().catch(() => null);
  if (res.ok) {
    const prompt = PromptSchema.safeParse(body);
    if (prompt.success) return { ok: true, text: prompt.data.text };
    return { ok: false, reason: "unavailable", message: "the prompts endpoint answered an unexpected body" };
  }
  const message = ErrorBodySchema.safeParse(body).data?.error.message ?? `the prompts endpoint answered ${res.status}`;
  if (res.status === 404) return { ok: false, reason: "not_found", message };
  if (res.status === 503) return { ok: false, reason: "not_configured", message };
  return { ok: false, reason: "unavailable", message };
}

const PromptSchema = z.object({ text: z.string() });

// The prompts routes mounted alone, with the API's error mapping, so their status codes and
// messages reach us as the HTTP API would send them.
const promptsEndpoint = new Hono<{ Bindings: Env }>();
promptsEndpoint.route("/", promptRoutes);
promptsEndpoint.onError((err, c) => (err instanceof ApiError ? errorResponse(c, err) : c.json(errorBody("internal_error", err.message), 500)));
