import { z } from "zod";
import { ProviderError } from "../compute/types";
import { createHttpClient, type HttpTuning } from "../http";

/**
 * Template prompts kept in Notion: a page's title and its top-level blocks flattened to
 * markdown-ish text (headings, lists, to-dos, quotes, code). Nested blocks are not followed:
 * prompts are written flat, and each level would cost another paged call.
 */
export const NOTION_BASE_URL = "https://api.notion.com";
export const NOTION_VERSION = "2026-03-11";
const MAX_PAGES = 10;
/** The claim API bounds instructions at 32,000 characters. */
export const MAX_PROMPT_CHARS = 32_000;

const RichTextSchema = z.array(z.object({ plain_text: z.string() }).loose());
const BlockSchema = z.object({ object: z.literal("block"), id: z.string(), type: z.string().optional() }).catchall(z.unknown());
const BlockListSchema = z.object({ object: z.literal("list"), results: z.array(BlockSchema), has_more: z.boolean(), next_cursor: z.string().nullable() });
const PageSchema = z.object({
  object: z.literal("page"),
  id: z.string(),
  properties: z.record(z.string(), z.object({ type: z.string() }).catchall(z.unknown())).optional(),
});

export interface NotionPrompt {
  pageId: string;
  title: string;
  text: string;
}

export type PromptResult = { ok: true; prompt: NotionPrompt } | { ok: false; reason: "not_found" | "unavailable"; message: string };

const PREFIX: Record<string, string> = {
  heading_1: "# ",
  heading_2: "## ",
  heading_3: "### ",
  bulleted_list_item: "- ",
  numbered_list_item: "1. ",
  quote: "> ",
  to_do: "- [ ] ",
  toggle: "",
  callout: "",
  paragraph: "",
};

export function blockText(block: z.infer<typeof BlockSchema>): string | null {
  const type = block.type;
  if (!type) return null;
  if (type === "divider") return "---";
  const content = block[type] as { rich_text?: unknown; checked?: boolean } | undefined;
  const rich = RichTextSchema.safeParse(content?.rich_text);
  if (!rich.success) return null;
  const text = rich.data.map((r) => r.plain_text).join("");
  if (type === "code") return "```\n" + text + "\n```";
  if (type === "to_do" && content?.checked) return `- [x] ${text}`;
  return (PREFIX[type] ?? "") + text;
}

export function createNotionClient(opts: { apiKey: string } & HttpTuning) {
  const http = createHttpClient({
    provider: "notion",
    baseUrl: NOTION_BASE_URL,
    headers: { authorization: `Bearer ${opts.apiKey}`, "notion-version": NOTION_VERSION },
    ...opts,
    timeoutMs: opts.timeoutMs ?? 8_000,
  });

  return {
    async prompt(pageId: string): Promise<PromptResult> {
      const notFound = { ok: false as const, reason: "not_found" as const, message: `Notion page ${pageId} was not found or is not shared with the integration` };
      try {
        const page = await http.request({ method: "GET", path: `/v1/pages/${pageId}`, schema: PageSchema, accept: [404], what: "read page" });
        if (page.status === 404) return notFound;
        const titleProp = Object.values(page.data.properties ?? {}).find((p) => p.type === "title");
        const title = RichTextSchema.safeParse(titleProp?.title);
        const lines: string[] = [];
        let cursor: string | null = null;
        for (let n = 0; n < MAX_PAGES; n++) {
          const res: { status: number; data: z.infer<typeof BlockListSchema> } = await http.request({
            method: "GET",
            path: `/v1/blocks/${pageId}/children`,
            query: { page_size: 100, start_cursor: cursor ?? undefined },
            schema: BlockListSchema,
            accept: [404],
            what: "read page blocks",
          });
          if (res.status === 404) return notFound;
          for (const block of res.data.results) {
            const line = blockText(block);
            if (line !== null) lines.push(line);
          }
          if (!res.data.has_more || !res.data.next_cursor) break;
          cursor = res.data.next_cursor;
        }
        return {
          ok: true,
          prompt: {
            pageId,
            title: title.success ? title.data.map((t) => t.plain_text).join("") : "",
            text: lines
              .join("\n")
              .replace(/\n{3,}/g, "\n\n")
              .trim()
              .slice(0, MAX_PROMPT_CHARS),
          },
        };
      } catch (err) {
        if (err instanceof ProviderError) return { ok: false, reason: "unavailable", message: err.message };
        throw err;
      }
    },
  };
}

export type NotionClient = ReturnType<typeof createNotionClient>;

/** Page ids as Notion shows them in URLs: 32 hex digits (dashes of the UUID form are dropped). */
export function normalizePageId(id: string): string | null {
  const compact = id.replace(/-/g, "").toLowerCase();
  return /^[0-9a-f]{32}$/.test(compact) ? compact : null;
}

export const PROMPT_CACHE_SECONDS = 3600;
// Cache API keys must be URLs; this host is never fetched.
const cacheKey = (pageId: string) => new Request(`https://prompt-cache.internal/notion/${pageId}`);

export type CachedPromptResult = { ok: true; prompt: NotionPrompt & { fetchedAt: number }; cached: boolean } | { ok: false; reason: "not_configured" | "not_found" | "unavailable"; message: string };

/**
 * A page's prompt through the Cache API (shared by every isolate of the colo), for an hour.
 * Failures are not cached: the next reader asks Notion again. The catalog's claim flow and
 * `GET /api/prompts/:pageId` both read prompts through here.
 */
export async function cachedPrompt(env: Pick<Env, "NOTION_API_KEY">, rawPageId: string, tuning: HttpTuning = {}): Promise<CachedPromptResult> {
  const apiKey = env.NOTION_API_KEY?.trim();
  if (!apiKey) return { ok: false, reason: "not_configured", message: "Notion prompts are disabled on this pool: NOTION_API_KEY is not set" };
  const pageId = normalizePageId(rawPageId);
  if (!pageId) return { ok: false, reason: "not_found", message: `"${rawPageId}" is not a Notion page id` };
  const cache = typeof caches !== "undefined" ? caches.default : null;
  const hit = await cache?.match(cacheKey(pageId)).catch(() => undefined);
  if (hit) return { ok: true, prompt: (await hit.json()) as NotionPrompt & { fetchedAt: number }, cached: true };

  const result = await createNotionClient({ apiKey, ...tuning }).prompt(pageId);
  if (!result.ok) return result;
  const prompt = { ...result.prompt, fetchedAt: Date.now() };
  // Awaited rather than deferred: a put is local and fast, and the next reader then hits it.
  await cache
    ?.put(cacheKey(pageId), new Response(JSON.stringify(prompt), { headers: { "content-type": "application/json", "cache-control": `max-age=${PROMPT_CACHE_SECONDS}` } }))
    .catch(() => undefined);
  return { ok: true, prompt, cached: false };
}
