/**
 * Admin sessions: a signed cookie `payload.signature`, HMAC-SHA256 with SESSION_SECRET. The
 * payload carries a random session id (the CSRF token is derived from it), when it was issued
 * and expires, and a fingerprint of the pool key it was opened with — never the key itself —
 * so a leaked cookie reveals nothing, and a session ends when the key changes. Logout and
 * "log out everywhere" are recorded server-side (session-store.ts) and checked on every request.
 */
export const SESSION_COOKIE = "__Host-pool_admin";
export const SESSION_TTL_MS = 8 * 60 * 60_000;

export interface Session {
  sid: string;
  /** Issued at (ms): "log out everywhere" ends every session issued before it. */
  iat: number;
  exp: number;
  /** keyId() of the pool key at login. */
  kid: string;
}

const encoder = new TextEncoder();

function b64url(bytes: ArrayBuffer | Uint8Array): string {
  const arr = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (const b of arr) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(value: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(value)) return null;
  try {
    const s = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  if (!secret) throw new Error("SESSION_SECRET is not set");
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

export async function sign(secret: string, message: string): Promise<string> {
  return b64url(await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(message)));
}

/** Constant-time check (crypto.subtle.verify) of a signature made by `sign`. */
export async function verify(secret: string, message: string, signature: string): Promise<boolean> {
  const sig = fromB64url(signature);
  if (!sig) return false;
  return crypto.subtle.verify("HMAC", await hmacKey(secret), sig, encoder.encode(message));
}

export function newSession(kid: string, now = Date.now()): Session {
  return { sid: b64url(crypto.getRandomValues(new Uint8Array(18))), iat: now, exp: now + SESSION_TTL_MS, kid };
}

/** A fingerprint of the pool key (keyed by SESSION_SECRET, so it says nothing about the key). */
export async function keyId(secret: string, poolKey: string): Promise<string> {
  return (await sign(secret, `pool-key:${poolKey}`)).slice(0, 22);
}

export async function encodeSession(secret: string, session: Session): Promise<string> {
  const payload = b64url(encoder.encode(JSON.stringify({ sid: session.sid, iat: session.iat, exp: session.exp, kid: session.kid })));
  return `${payload}.${await sign(secret, `session:${payload}`)}`;
}

/** The session a cookie value proves, or null when it is malformed, tampered with or expired. */
export async function decodeSession(secret: string, value: string | undefined, now = Date.now()): Promise<Session | null> {
  if (!value || value.length > 512) return null;
  const [payload, signature, extra] = value.split(".");
  if (!payload || !signature || extra !== undefined) return null;
  if (!(await verify(secret, `session:${payload}`, signature))) return null;
  const bytes = fromB64url(payload);
  if (!bytes) return null;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Session>;
    if (typeof parsed.sid !== "string" || typeof parsed.exp !== "number" || typeof parsed.iat !== "number" || typeof parsed.kid !== "string") return null;
    if (parsed.exp <= now) return null;
    return { sid: parsed.sid, iat: parsed.iat, exp: parsed.exp, kid: parsed.kid };
  } catch {
    return null;
  }
}

/** The per-session CSRF token every admin form carries; bound to the session, so a stolen form from another session is useless. */
export function csrfToken(secret: string, session: Session): Promise<string> {
  return sign(secret, `csrf:${session.sid}`);
}

export function csrfTokenValid(secret: string, session: Session, token: string): Promise<boolean> {
  return verify(secret, `csrf:${session.sid}`, token);
}

export type SessionStanding = "ok" | "logged_out" | "logged_out_everywhere" | "key_changed";

/** Whether a genuine, unexpired session still stands, given what the server recorded. */
export function sessionStanding(session: Session, recorded: { currentKeyId: string; revoked: boolean; notBefore: number | null }): SessionStanding {
  if (session.kid !== recorded.currentKeyId) return "key_changed";
  if (recorded.revoked) return "logged_out";
  if (recorded.notBefore !== null && session.iat < recorded.notBefore) return "logged_out_everywhere";
  return "ok";
}
