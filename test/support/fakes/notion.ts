import { bearer, FaultPlan, faultResponse, json } from "./faults.ts";

/**
 * Notion's pages and block-children endpoints (api.notion.com/v1), per the docs' OpenAPI in
 * test/support/fixtures/notion: `Notion-Version` required, ids accepted with or without dashes,
 * children paged with `start_cursor`/`next_cursor`, errors `{object: "error", status, code, message}`.
 */
export const NOTION_HOST = "api.notion.com";

interface FakePage {
  id: string;
  title: string;
  blocks: { type: string; text: string }[];
}

const error = (status: number, code: string, message: string) => json({ object: "error", status, code, message }, status);
const CODES: Record<number, string> = { 400: "validation_error", 401: "unauthorized", 404: "object_not_found", 429: "rate_limited", 500: "internal_server_error", 503: "service_unavailable" };

const dashed = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
const richText = (content: string) => [
  {
    type: "text",
    text: { content, link: null },
    annotations: { bold: false, italic: false, strikethrough: false, underline: false, code: false, color: "default" },
    plain_text: content,
    href: null,
  },
];
const user = { object: "user", id: "00000000-0000-4000-8000-0000000000aa" };

export function createFakeNotion(opts: { apiKey: string; pageSize?: number }) {
  const faults = new FaultPlan();
  let pages = new Map<string, FakePage>();

  function blockView(page: FakePage, i: number) {
    const b = page.blocks[i]!;
    const id = dashed(`${page.id.slice(0, 24)}${i.toString(16).padStart(8, "0")}`);
    const content =
      b.type === "divider"
        ? {}
        : b.type === "to_do"
          ? { rich_text: richText(b.text), color: "default", checked: false }
          : { rich_text: richText(b.text), color: "default", ...(b.type.startsWith("heading") ? { is_toggleable: false } : {}) };
    return {
      object: "block",
      id,
      parent: { type: "page_id", page_id: dashed(page.id) },
      created_time: "2026-01-01T00:00:00.000Z",
      last_edited_time: "2026-01-01T00:00:00.000Z",
      created_by: user,
      last_edited_by: user,
      has_children: false,
      in_trash: false,
      type: b.type,
      [b.type]: content,
    };
  }

  async function route(request: Request, url: URL): Promise<Response> {
    if (bearer(request) !== opts.apiKey) return error(401, "unauthorized", "API token is invalid.");
    if (!request.headers.get("notion-version")) return error(400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.");
    const page = /^\/v1\/pages\/([0-9a-f-]+)$/i.exec(url.pathname);
    const children = /^\/v1\/blocks\/([0-9a-f-]+)\/children$/i.exec(url.pathname);
    const id = (page?.[1] ?? children?.[1])?.replace(/-/g, "").toLowerCase();
    const p = id ? pages.get(id) : undefined;
    if ((page || children) && !p) {
      return error(404, "object_not_found", `Could not find ${page ? "page" : "block"} with ID: ${dashed(id!)}. Make sure the relevant pages and databases are shared with your integration.`);
    }
    if (page) {
      return json({
        object: "page",
        id: dashed(p!.id),
        created_time: "2026-01-01T00:00:00.000Z",
        last_edited_time: "2026-01-01T00:00:00.000Z",
        created_by: user,
        last_edited_by: user,
        cover: null,
        icon: null,
        parent: { type: "workspace", workspace: true },
        in_trash: false,
        is_archived: false,
        is_locked: false,
        properties: { title: { id: "title", type: "title", title: richText(p!.title) } },
        url: `https://www.notion.so/${p!.id}`,
        public_url: null,
      });
    }
    if (children) {
      const size = Math.min(Number(url.searchParams.get("page_size") ?? 100) || 100, 100, opts.pageSize ?? 100);
      const start = url.searchParams.get("start_cursor");
      const all = p!.blocks.map((_, i) => blockView(p!, i));
      const from = start ? all.findIndex((b) => b.id === start) : 0;
      if (from < 0) return error(400, "validation_error", "start_cursor is invalid");
      const results = all.slice(from, from + size);
      const nextCursor = from + size < all.length ? all[from + size]!.id : null;
      return json({ object: "list", results, next_cursor: nextCursor, has_more: nextCursor !== null, type: "block", block: {}, request_id: crypto.randomUUID() });
    }
    return error(400, "invalid_request_url", "Invalid request URL.");
  }

  return {
    host: NOTION_HOST,
    faults,
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const op = `${request.method} ${url.pathname.replace(/[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/i, "{id}")}`;
      const epoch = faults.epoch;
      const rule = faults.take(op);
      if (rule) {
        const res = await faultResponse(rule, (s) => ({ object: "error", status: s, code: CODES[s] ?? "internal_server_error", message: "injected failure" }));
        if (res) {
          faults.record(op, res.status, epoch);
          return res;
        }
        // A delayed call that outlived its test must not change the next test's state.
        if (epoch !== faults.epoch) return new Response(null, { status: 503 });
      }
      const res = await route(request, url);
      faults.record(op, res.status, epoch);
      return res;
    },
    reset() {
      pages = new Map();
      faults.reset();
    },
    setPage(id: string, title: string, blocks: { type: string; text: string }[]) {
      pages.set(id.replace(/-/g, "").toLowerCase(), { id: id.replace(/-/g, "").toLowerCase(), title, blocks });
    },
    state() {
      return { pages: [...pages.keys()], calls: faults.calls };
    },
  };
}
