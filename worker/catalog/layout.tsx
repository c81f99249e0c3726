import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";
import { CATALOG_CSS } from "./style";

const FAVICON =
  "data:image/svg+xml," +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="9" fill="#14141a"/><text x="16" y="22.5" font-size="18" text-anchor="middle" fill="#fff">✦</text></svg>',
  );

export interface Meta {
  title: string;
  description: string;
  /** Absolute URL of the page, for og:url and the canonical link. */
  url: string;
  /** Absolute URL of the Open Graph image. */
  image: string;
  imageAlt: string;
}

export const Layout: FC<{ meta: Meta; head?: Child; children?: Child; environment: string }> = ({ meta, head, children, environment }) => (
  <>
    {raw("<!doctype html>")}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
        <title>{meta.title}</title>
        <meta name="description" content={meta.description} />
        <meta name="theme-color" content="#ffffff" />
        <link rel="icon" href={FAVICON} />
        <link rel="canonical" href={meta.url} />
        <meta property="og:type" content="website" />
        <meta property="og:site_name" content="Convos Agents" />
        <meta property="og:title" content={meta.title} />
        <meta property="og:description" content={meta.description} />
        <meta property="og:url" content={meta.url} />
        <meta property="og:image" content={meta.image} />
        <meta property="og:image:type" content="image/svg+xml" />
        <meta property="og:image:width" content="1200" />
        <meta property="og:image:height" content="630" />
        <meta property="og:image:alt" content={meta.imageAlt} />
        <meta name="twitter:card" content="summary_large_image" />
        <meta name="twitter:title" content={meta.title} />
        <meta name="twitter:description" content={meta.description} />
        <meta name="twitter:image" content={meta.image} />
        <style>{raw(CATALOG_CSS)}</style>
        {head}
      </head>
      <body>
        <header class="top">
          <div class="wrap">
            <a class="brand" href="/">
              <span class="logo" aria-hidden="true">
                ✦
              </span>
              Convos Agents
            </a>
            <nav aria-label="Site">
              <a href="/">All agents</a>
            </nav>
          </div>
        </header>
        <main>
          <div class="wrap">{children}</div>
        </main>
        <footer class="foot">
          <div class="wrap">
            <span>AI agents for your Convos group chats — end-to-end encrypted on XMTP.</span>
            {environment !== "production" ? <span>Environment: {environment}</span> : null}
          </div>
        </footer>
      </body>
    </html>
  </>
);
