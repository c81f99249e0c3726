import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";

/** One entry of the dashboard's top navigation. Other admin sections add theirs to `ADMIN_NAV`. */
export interface NavItem {
  href: string;
  label: string;
}

export const ADMIN_NAV: NavItem[] = [
  { href: "/admin", label: "Overview" },
  { href: "/admin/settings", label: "Settings" },
  { href: "/admin/templates", label: "Templates" },
  { href: "/admin/rollouts", label: "Rollouts" },
];

export interface EnvLink {
  name: string;
  url: string;
  current: boolean;
}

/** What every admin page needs from the request: who is logged in, the CSP nonce, the environment. */
export interface PageContext {
  environment: string;
  xmtpEnv: string;
  envLinks: EnvLink[];
  nonce: string;
  /** The session's CSRF token; null on the login page. */
  csrf: string | null;
  path: string;
  nav: NavItem[];
}

export interface Flash {
  kind: "ok" | "error";
  text: string;
}

/**
 * `ADMIN_URLS` is `name=url,name=url`. Only http(s) URLs become links, so a config typo can
 * never turn into a `javascript:` link on the page.
 */
export function parseAdminUrls(raw: string | undefined, current: string): EnvLink[] {
  const links: EnvLink[] = [];
  for (const part of (raw ?? "").split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const url = part.slice(eq + 1).trim();
    try {
      if (!/^https?:$/.test(new URL(url).protocol)) continue;
    } catch {
      continue;
    }
    links.push({ name, url, current: name === current });
  }
  return links;
}

export const CsrfField: FC<{ ctx: PageContext }> = ({ ctx }) => (ctx.csrf ? <input type="hidden" name="_csrf" value={ctx.csrf} /> : null);

/**
 * `refreshSeconds` turns on the background refresh of the page's `data-live` regions, read
 * from `refreshUrl` (default: the page's own URL; a page rendered in answer to a post gives
 * the GET address of the same view).
 */
export const Layout: FC<{ ctx: PageContext; title: string; flash?: Flash | null; refreshSeconds?: number; refreshUrl?: string; children?: Child }> = ({
  ctx,
  title,
  flash,
  refreshSeconds,
  refreshUrl,
  children,
}) => (
  <>
    {raw("<!doctype html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${title} · ${ctx.environment} · Agent Pool`}</title>
        <link rel="stylesheet" href="/admin/assets/admin.css" />
        <script nonce={ctx.nonce} src="/admin/assets/admin.js" defer></script>
      </head>
      <body data-refresh={refreshSeconds ? String(refreshSeconds) : undefined} data-refresh-url={refreshSeconds ? refreshUrl : undefined}>
        <header class="topbar">
          <a class="brand" href="/admin">
            Agent Pool
          </a>
          <span class={`env env-${ctx.environment.toLowerCase()}`} title={`environment ${ctx.environment}, XMTP ${ctx.xmtpEnv}`} data-testid="environment">
            {ctx.environment}
          </span>
          <span class="small">XMTP {ctx.xmtpEnv}</span>
          {ctx.csrf ? (
            <nav class="nav" aria-label="Admin sections">
              {ctx.nav.map((item) => (
                <a href={item.href} aria-current={item.href === ctx.path ? "page" : undefined}>
                  {item.label}
                </a>
              ))}
            </nav>
          ) : null}
          {ctx.envLinks.length > 0 ? (
            <nav class="envs" aria-label="Environments">
              <span class="hide-sm">Environments:</span>
              {ctx.envLinks.map((link) => (
                <a href={link.url} aria-current={link.current ? "true" : undefined}>
                  {link.name}
                </a>
              ))}
            </nav>
          ) : null}
          {ctx.csrf ? (
            <form method="post" action="/admin/logout">
              <CsrfField ctx={ctx} />
              <button type="submit">Log out</button>
              <button type="submit" formaction="/admin/logout-everywhere" title="End every admin session, on every browser">
                Log out everywhere
              </button>
            </form>
          ) : null}
        </header>
        <main>
          {flash ? (
            <div class={`flash flash-${flash.kind}`} role={flash.kind === "error" ? "alert" : "status"}>
              {flash.text}
            </div>
          ) : null}
          {children}
        </main>
        <dialog id="qr-dialog" aria-label="Invite QR code">
          <h2>Invite</h2>
          <img alt="QR code of the invite URL" />
          <p class="mono small" data-qr-url></p>
          <div class="form-actions">
            <a class="button secondary" data-qr-page href="/admin">
              Instance page
            </a>
            <form method="dialog">
              <button type="submit">Close</button>
            </form>
          </div>
        </dialog>
      </body>
    </html>
  </>
);

export const FieldError: FC<{ id: string; error?: string }> = ({ id, error }) =>
  error ? (
    <p class="field-error" id={`${id}-error`}>
      {error}
    </p>
  ) : null;

/** Attributes that tie an input to its error message for screen readers. */
export function invalidAttrs(id: string, error: string | undefined) {
  return error ? { "aria-invalid": "true", "aria-describedby": `${id}-error` } : {};
}
