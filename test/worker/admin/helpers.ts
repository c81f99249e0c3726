import { exports } from "cloudflare:workers";
import { POOL_KEY } from "../helpers";

export const ORIGIN = "https://pool.test";

/** A browser-like request to the admin: same-origin posts carry an Origin header, like a real form submit. */
export function admin(
  path: string,
  init: { method?: string; cookie?: string | null; form?: Record<string, string>; origin?: string | null; ip?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("cookie", init.cookie);
  if (init.ip) headers.set("cf-connecting-ip", init.ip);
  let body: string | undefined;
  const method = init.method ?? (init.form ? "POST" : "GET");
  if (init.form) {
    headers.set("content-type", "application/x-www-form-urlencoded");
    body = new URLSearchParams(init.form).toString();
  }
  if (method === "POST" && init.origin !== null) headers.set("origin", init.origin ?? ORIGIN);
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" }));
}

/** The `name=value` pairs of a response's Set-Cookie headers. */
export function setCookies(res: Response): Map<string, { value: string; raw: string }> {
  const out = new Map<string, { value: string; raw: string }>();
  for (const raw of res.headers.getSetCookie()) {
    const [pair] = raw.split(";");
    const eq = pair!.indexOf("=");
    out.set(pair!.slice(0, eq), { value: pair!.slice(eq + 1), raw });
  }
  return out;
}

/** A logged-in operator: the session cookie plus the CSRF token its pages carry. */
export interface Operator {
  cookie: string;
  csrf: string;
  /** Follows a redirect's flash cookie along, like a browser would. */
  get(path: string): Promise<{ status: number; html: string; res: Response }>;
  post(path: string, form?: Record<string, string>): Promise<{ status: number; html: string; res: Response }>;
}

export async function login(ip = "10.0.0.1"): Promise<Operator> {
  const res = await admin("/admin/login", { form: { key: POOL_KEY }, ip });
  if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
  const session = setCookies(res).get("__Host-pool_admin");
  if (!session) throw new Error("no session cookie");
  const cookie = `__Host-pool_admin=${session.value}`;
  const page = await (await admin("/admin", { cookie })).text();
  const csrf = csrfOf(page);
  let flash = "";
  const jar = () => (flash ? `${cookie}; ${flash}` : cookie);
  const keepFlash = (r: Response) => {
    const f = setCookies(r).get("__Host-pool_admin_flash");
    if (f) flash = f.value ? `__Host-pool_admin_flash=${f.value}` : "";
  };
  return {
    cookie,
    csrf,
    async get(path) {
      const r = await admin(path, { cookie: jar() });
      keepFlash(r);
      return { status: r.status, html: await r.text(), res: r };
    },
    async post(path, form = {}) {
      const r = await admin(path, { cookie: jar(), form: { _csrf: csrf, ...form } });
      keepFlash(r);
      return { status: r.status, html: await r.text(), res: r };
    },
  };
}

export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error("no CSRF token on the page");
  return m[1]!;
}

/** The visible text of some HTML, tags removed and entities decoded enough for assertions. */
export function text(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, "")
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ");
}
