import { z } from "zod";
import type { TemplateRow } from "../db/schema";
import { log } from "../lib/log";

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
 * The one seam to Notion. It reads the page's blocks with the Notion REST API and flattens
 * them to text, cached per isolate for an hour. The provider's Notion client (and its
 * `GET /api/prompts/:pageId`) is the long-term home of this logic: when it lands, this
 * function becomes a call into it and nothing else in the catalog changes.
 */
export async function notionPromptText(env: Pick<Env, "NOTION_API_KEY">, pageId: string, fetcher: typeof fetch = fetch): Promise<PromptText> {
  const key = env.NOTION_API_KEY?.trim();
  if (!key) return { ok: false, reason: "not_configured", message: "NOTION_API_KEY is not set" };
  const cached = cache.get(pageId);
  if (cached && cached.until > Date.now()) return { ok: true, text: cached.text };

  const lines: string[] = [];
  let cursor: string | null = null;
  try {
    for (let page = 0; page < MAX_PAGES; page++) {
      const url = new URL(`${NOTION_API}/blocks/${pageId}/children`);
      url.searchParams.set("page_size", "100");
      if (cursor) url.searchParams.set("start_cursor", cursor);
      const res = await fetcher(url, {
        headers: { authorization: `Bearer ${key}`, "notion-version": NOTION_VERSION },
        signal: AbortSignal.timeout(8_000),
      });
      if (res.status === 404 || res.status === 400) return { ok: false, reason: "not_found", message: `Notion page ${pageId} was not found or is not shared with the integration` };
      if (!res.ok) return { ok: false, reason: "unavailable", message: `Notion answered ${res.status}` };
      const body = BlockListSchema.parse(await res.json());
      for (const block of body.results) {
        const line = blockText(block);
        if (line !== null) lines.push(line);
      }
      if (!body.has_more || !body.next_cursor) break;
      cursor = body.next_cursor;
    }
  } catch (err) {
    return { ok: false, reason: "unavailable", message: `Notion could not be read: ${(err as Error).message}` };
  }
  const text = lines.join("\n").replace(/\n{3,}/g, "\n\n").trim().slice(0, MAX_CHARS);
  cache.set(pageId, { text, until: Date.now() + CACHE_MS });
  return { ok: true, text };
}

const NOTION_API = "https://api.notion.com/v1";
const NOTION_VERSION = "2026-03-11";
const MAX_PAGES = 5;
// The claim API bounds instructions at 32,000 characters.
const MAX_CHARS = 32_000;
const CACHE_MS = 3_600_000;
const cache = new Map<string, { text: string; until: number }>();

const RichTextSchema = z.array(z.object({ plain_text: z.string() }).loose());
const BlockSchema = z.object({ type: z.string().optional() }).catchall(z.unknown());
const BlockListSchema = z.object({
  results: z.array(BlockSchema),
  has_more: z.boolean(),
  next_cursor: z.string().nullable(),
});

const PREFIX: Record<string, string> = {
  heading_1: "# ",
  heading_2: "## ",
  heading_3: "### ",
  bulleted_list_item: "- ",
  numbered_list_item: "1. ",
  quote: "> ",
  to_do: "- [ ] ",
};

function blockText(block: z.infer<typeof BlockSchema>): string | null {
  const type = block.type;
  if (!type) return null;
  if (type === "divider") return "";
  const content = block[type] as { rich_text?: unknown } | undefined;
  const rich = RichTextSchema.safeParse(content?.rich_text);
  if (!rich.success) return null;
  const text = rich.data.map((r) => r.plain_text).join("");
  return type === "code" ? "```\n" + text + "\n```" : (PREFIX[type] ?? "") + text;
}

/** For tests: forget cached pages. */
export function clearPromptCache(): void {
  cache.clear();
}
