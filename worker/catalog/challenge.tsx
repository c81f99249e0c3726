import type { Child } from "hono/jsx";
import { z } from "zod";
import { log } from "../lib/log";
import type { CatalogVars } from "./config";

/**
 * The bot-check hook of the public claim forms. `PUBLIC_CLAIM_CHALLENGE` names a verifier
 * ("off" by default). A verifier contributes markup to each claim form, the CSP sources its
 * widget needs, and a server-side `verify` that runs after the rate limiter (so a flood of
 * bad tokens cannot spend the provider's verification budget) and before
 * any agent is reserved. To add another provider (hCaptcha, a proof-of-work…), add an entry to
 * CHALLENGES; nothing else changes.
 */
export interface ChallengeVerifier {
  readonly name: string;
  readonly csp: { scriptSrc: string[]; frameSrc: string[]; connectSrc: string[] };
  /** Loaded once per page that carries a claim form. */
  head(nonce: string): Child;
  /** Placed inside every claim form, before its submit button. */
  widget(): Child;
  verify(input: ChallengeInput): Promise<ChallengeResult>;
}

export interface ChallengeInput {
  /** The submitted form fields (the widget's token arrives as one of them). */
  form: Record<string, string>;
  clientIp: string;
  /** Unique per attempt, so the provider can dedupe retries of the same verification. */
  attemptId: string;
}

export type ChallengeResult = { ok: true } | { ok: false; reason: "failed" | "unavailable"; message: string };

export type ChallengeFactory = (vars: CatalogVars, fetcher: typeof fetch) => ChallengeVerifier;

const TURNSTILE_ORIGIN = "https://challenges.cloudflare.com";
const TURNSTILE_VERIFY_URL = `${TURNSTILE_ORIGIN}/turnstile/v0/siteverify`;
const TURNSTILE_FIELD = "cf-turnstile-response";

const SiteverifySchema = z.object({
  success: z.boolean(),
  "error-codes": z.array(z.string()).optional(),
});

/** Cloudflare Turnstile: TURNSTILE_SITE_KEY (var) renders the widget, TURNSTILE_SECRET_KEY (secret) verifies it. */
export const turnstile: ChallengeFactory = (vars, fetcher) => {
  const siteKey = vars.TURNSTILE_SITE_KEY?.trim() ?? "";
  const secret = vars.TURNSTILE_SECRET_KEY?.trim() ?? "";
  if (!siteKey || !secret) return misconfigured("turnstile", "TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY must both be set");
  return {
    name: "turnstile",
    csp: { scriptSrc: [TURNSTILE_ORIGIN], frameSrc: [TURNSTILE_ORIGIN], connectSrc: [TURNSTILE_ORIGIN] },
    head: (nonce) => <script src={`${TURNSTILE_ORIGIN}/turnstile/v0/api.js`} nonce={nonce} async defer></script>,
    widget: () => <div class="cf-turnstile challenge" data-sitekey={siteKey} data-response-field-name={TURNSTILE_FIELD}></div>,
    async verify({ form, clientIp, attemptId }) {
      const token = form[TURNSTILE_FIELD] ?? "";
      if (!token) return { ok: false, reason: "failed", message: "Please complete the human check before starting an agent." };
      const body = new FormData();
      body.set("secret", secret);
      body.set("response", token.slice(0, 4096));
      if (clientIp !== "local") body.set("remoteip", clientIp);
      body.set("idempotency_key", crypto.randomUUID());
      try {
        const res = await fetcher(TURNSTILE_VERIFY_URL, { method: "POST", body, signal: AbortSignal.timeout(5_000) });
        const parsed = SiteverifySchema.safeParse(await res.json());
        if (!res.ok || !parsed.success) {
          log.warn("turnstile siteverify answered unexpectedly", { status: res.status, attemptId });
          return { ok: false, reason: "unavailable", message: "We could not check that you are human right now. Please try again in a moment." };
        }
        if (!parsed.data.success) {
          log.info("turnstile check failed", { codes: parsed.data["error-codes"] ?? [], attemptId });
          return { ok: false, reason: "failed", message: "The human check did not pass. Please try it again." };
        }
        return { ok: true };
      } catch (err) {
        log.warn("turnstile siteverify unreachable", { error: (err as Error).message, attemptId });
        return { ok: false, reason: "unavailable", message: "We could not check that you are human right now. Please try again in a moment." };
      }
    },
  };
};

const CHALLENGES: Record<string, ChallengeFactory> = { turnstile };

/**
 * A verifier that refuses everything: a challenge that is switched on but cannot work must
 * close the door rather than silently let every request through.
 */
function misconfigured(name: string, problem: string): ChallengeVerifier {
  return {
    name,
    csp: { scriptSrc: [], frameSrc: [], connectSrc: [] },
    head: () => null,
    widget: () => null,
    async verify() {
      log.error("public claim challenge is misconfigured; refusing public claims", { challenge: name, problem });
      return { ok: false, reason: "unavailable", message: "Starting agents from this page is temporarily unavailable. Please try again later." };
    },
  };
}

/** The configured verifier, or null when the challenge is off. */
export function challengeVerifier(name: string, vars: CatalogVars, fetcher: typeof fetch = fetch): ChallengeVerifier | null {
  if (name === "off" || name === "none" || name === "false" || name === "0") return null;
  const factory = CHALLENGES[name];
  if (!factory) return misconfigured(name, `unknown PUBLIC_CLAIM_CHALLENGE "${name}" (known: off, ${Object.keys(CHALLENGES).join(", ")})`);
  return factory(vars, fetcher);
}
