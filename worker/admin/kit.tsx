import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ADMIN_NAV, type Flash, type PageContext, parseAdminUrls } from "./layout";
import { MessagePage } from "./pages/message";
import { type Session, sign, verify } from "./session";

/**
 * What an admin section needs to plug into /admin. A section is a `new Hono<AdminEnv>()`
 * mounted in routes.tsx with `adminRoutes.route("/<section>", sectionRoutes)`: it then runs
 * behind the same secure headers, session check and CSRF check, finds the parsed form body in
 * `c.get("form")`, renders with `Layout` and `pageContext(c)`, and adds its link to `ADMIN_NAV`.
 */
export type AdminEnv = {
  Bindings: Env;
  Variables: {
    session: Session | null;
    csrf: string | null;
    secureHeadersNonce?: string;
    /** The post's fields (strings only), read once by the CSRF check. */
    form: Record<string, string>;
  };
};
export type AdminContext = Context<AdminEnv>;

const FLASH_COOKIE = "__Host-pool_admin_flash";

export function pageContext(c: AdminContext): PageContext {
  return {
    environment: c.env.POOL_ENVIRONMENT || "unknown",
    xmtpEnv: c.env.XMTP_ENV || "dev",
    envLinks: parseAdminUrls(c.env.ADMIN_URLS, c.env.POOL_ENVIRONMENT),
    nonce: c.get("secureHeadersNonce") ?? "",
    csrf: c.get("csrf") ?? null,
    path: c.req.path,
    nav: ADMIN_NAV,
  };
}

export async function readForm(c: AdminContext): Promise<Record<string, string>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return {};
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

export function messagePage(c: AdminContext, status: ContentfulStatusCode, title: string, text: string) {
  return c.html(
    <MessagePage ctx={pageContext(c)} title={title}>
      <p>{text}</p>
    </MessagePage>,
    status,
  );
}

/** Post/redirect/get: the outcome survives one redirect in a short-lived signed cookie. */
export async function redirectWithFlash(c: AdminContext, to: string, flash: Flash) {
  const payload = btoa(encodeURIComponent(JSON.stringify(flash)));
  setCookie(c, FLASH_COOKIE, `${payload}.${await sign(c.env.SESSION_SECRET, `flash:${payload}`)}`, {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/",
    maxAge: 60,
  });
  return c.redirect(to, 303);
}

export async function takeFlash(c: AdminContext): Promise<Flash | null> {
  // The background refresh must not eat a message the operator has not seen yet.
  if (c.req.header("x-admin-refresh")) return null;
  const value = getCookie(c, FLASH_COOKIE);
  if (!value) return null;
  deleteCookie(c, FLASH_COOKIE, { path: "/", secure: true, httpOnly: true, sameSite: "Strict" });
  const [payload, signature] = value.split(".");
  if (!payload || !signature || !(await verify(c.env.SESSION_SECRET, `flash:${payload}`, signature))) return null;
  try {
    const flash = JSON.parse(decodeURIComponent(atob(payload))) as Flash;
    return (flash.kind === "ok" || flash.kind === "error") && typeof flash.text === "string" ? { kind: flash.kind, text: flash.text.slice(0, 500) } : null;
  } catch {
    return null;
  }
}
