import type { TemplateRow } from "../db/schema";
import { log } from "../lib/log";
import { cachedPrompt } from "../providers/notion";

/**
 * Where a template's instructions come from when a claim (API, dashboard or catalog) starts an
 * agent from it.
 *
 * Inline instructions are resolved by the coordinator itself from the template slug. A Notion
 * page id is resolved here, by claimAgent before the claim, and sent as the claim's
 * `instructions`: the Notion page wins and the inline text is the fallback when Notion cannot
 * be read.
 */
export type PromptText = { ok: true; text: string } | { ok: false; reason: "not_configured" | "not_found" | "unavailable"; message: string };

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
 * The one seam to Notion: the same cached read (one hour) that serves `GET /api/prompts/:pageId`.
 * Callers have already decided the page may be read (a published template, or an operator).
 */
export async function notionPromptText(env: Env, pageId: string): Promise<PromptText> {
  const result = await cachedPrompt(env, pageId);
  return result.ok ? { ok: true, text: result.prompt.text } : { ok: false, reason: result.reason, message: result.message };
}
