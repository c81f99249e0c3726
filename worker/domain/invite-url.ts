/**
 * Convos invite URLs (from the convos CLI: `dev.convos.org/v2?i=<slug>` on the dev network,
 * `popup.convos.org/v2?i=<slug>` on production). A pool only joins invites of its own XMTP
 * network: an agent on dev cannot join a production conversation, and saying so up front
 * beats a provision that times out.
 */
export type XmtpEnv = "dev" | "production";

export const INVITE_HOSTS: Record<XmtpEnv, string> = {
  dev: "dev.convos.org",
  production: "popup.convos.org",
};

const SLUG = /^[A-Za-z0-9._~*=+/-]{8,2048}$/;

export type InviteCheck = { ok: true; slug: string } | { ok: false; message: string };

export function checkInviteUrl(raw: string, env: XmtpEnv): InviteCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: "joinUrl is not a URL" };
  }
  const otherEnv: XmtpEnv = env === "dev" ? "production" : "dev";
  if (url.hostname === INVITE_HOSTS[otherEnv]) {
    return {
      ok: false,
      message: `joinUrl is a ${otherEnv} invite (${INVITE_HOSTS[otherEnv]}) but this pool runs on the XMTP ${env} network (${INVITE_HOSTS[env]})`,
    };
  }
  if (url.protocol !== "https:" || url.hostname !== INVITE_HOSTS[env]) {
    return { ok: false, message: `joinUrl must be a Convos invite URL like https://${INVITE_HOSTS[env]}/v2?i=<slug>` };
  }
  if (url.pathname !== "/v2") {
    return { ok: false, message: `joinUrl must use the /v2 invite path` };
  }
  const slug = url.searchParams.get("i");
  if (!slug || !SLUG.test(slug)) {
    return { ok: false, message: "joinUrl has no valid invite slug (the i= parameter)" };
  }
  return { ok: true, slug };
}

export function isXmtpEnv(value: string): value is XmtpEnv {
  return value === "dev" || value === "production";
}
