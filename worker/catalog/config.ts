/**
 * Abuse-control knobs of the public catalog, read from wrangler.toml vars. Everything has a
 * safe default so a missing var never opens the pool to unlimited anonymous claims.
 */
export interface CatalogVars {
  PUBLIC_CLAIM_CLIENT_LIMIT?: string;
  PUBLIC_CLAIM_CLIENT_WINDOW_SECONDS?: string;
  PUBLIC_CLAIM_GLOBAL_LIMIT?: string;
  PUBLIC_CLAIM_GLOBAL_WINDOW_SECONDS?: string;
  PUBLIC_CLAIM_CHALLENGE?: string;
  TURNSTILE_SITE_KEY?: string;
  TURNSTILE_SECRET_KEY?: string;
}

export interface RateRule {
  /** 0 closes public claims entirely (an operator's emergency brake). */
  limit: number;
  windowMs: number;
}

export interface CatalogConfig {
  perClient: RateRule;
  global: RateRule;
  /** Name of the challenge verifier; "off" when none. */
  challenge: string;
}

const CATALOG_DEFAULTS = {
  clientLimit: 5,
  clientWindowSeconds: 600,
  globalLimit: 60,
  globalWindowSeconds: 600,
} as const;

function int(value: string | undefined, fallback: number, min: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= min ? n : fallback;
}

export function catalogConfig(vars: CatalogVars): CatalogConfig {
  return {
    perClient: {
      limit: int(vars.PUBLIC_CLAIM_CLIENT_LIMIT, CATALOG_DEFAULTS.clientLimit, 0),
      windowMs: int(vars.PUBLIC_CLAIM_CLIENT_WINDOW_SECONDS, CATALOG_DEFAULTS.clientWindowSeconds, 1) * 1000,
    },
    global: {
      limit: int(vars.PUBLIC_CLAIM_GLOBAL_LIMIT, CATALOG_DEFAULTS.globalLimit, 0),
      windowMs: int(vars.PUBLIC_CLAIM_GLOBAL_WINDOW_SECONDS, CATALOG_DEFAULTS.globalWindowSeconds, 1) * 1000,
    },
    challenge: (vars.PUBLIC_CLAIM_CHALLENGE ?? "").trim().toLowerCase() || "off",
  };
}
