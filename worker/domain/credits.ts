/**
 * Credit decisions: how far an operator may raise an instance's OpenRouter limit, what a
 * fleet adds up to, and how each outcome answers over HTTP. Plain data in, decisions out; the
 * OpenRouter calls and D1 writes live in worker/instances/credits.ts.
 */

import type { CreditFigures, FleetEntry, FleetTotals, TopUpRequest } from "../api/schemas";

export type { TopUpRequest };

export type TopUpDecision =
  | { ok: true; fromUsd: number; toUsd: number }
  | { ok: false; code: "no_limit"; message: string }
  | { ok: false; code: "not_a_raise"; message: string; field: string }
  | { ok: false; code: "over_ceiling"; message: string; field: string; ceilingUsd: number };

const usd = (n: number) => `$${n.toFixed(2)}`;
// OpenRouter stores limits in dollars with cents; a sum like 20.1 + 0.2 must not become 20.300000000000004.
const cents = (n: number) => Math.round(n * 100) / 100;

export function decideTopUp(currentLimitUsd: number | null, request: TopUpRequest, ceilingUsd: number): TopUpDecision {
  if (currentLimitUsd === null) return { ok: false, code: "no_limit", message: "this instance's key has no spending limit, so there is nothing to raise" };
  const field = "limitUsd" in request ? "limitUsd" : "addUsd";
  const toUsd = cents("limitUsd" in request ? request.limitUsd : currentLimitUsd + request.addUsd);
  if (toUsd <= currentLimitUsd) {
    return { ok: false, code: "not_a_raise", field, message: `the new limit ${usd(toUsd)} is not above the current limit ${usd(currentLimitUsd)}` };
  }
  if (toUsd > ceilingUsd) {
    return {
      ok: false,
      code: "over_ceiling",
      field,
      ceilingUsd,
      message: `the new limit ${usd(toUsd)} is above the top-up ceiling of ${usd(ceilingUsd)} per instance (OPENROUTER_TOPUP_CEILING_USD)`,
    };
  }
  return { ok: true, fromUsd: currentLimitUsd, toUsd };
}

/** The ceiling from its env var: unset means twice the default per-key limit; anything else must be a positive amount. */
export function topUpCeilingUsd(raw: string | undefined, keyLimitUsd: number): { ok: true; usd: number } | { ok: false; message: string } {
  if (raw === undefined || raw.trim() === "") return { ok: true, usd: keyLimitUsd * 2 };
  const n = Number(raw);
  if (!(Number.isFinite(n) && n > 0)) return { ok: false, message: `OPENROUTER_TOPUP_CEILING_USD must be a positive number of dollars, got "${raw}"` };
  return { ok: true, usd: n };
}

export function fleetTotals(entries: readonly FleetEntry[]): FleetTotals {
  const totals: FleetTotals = { instances: entries.length, known: 0, unknown: 0, exhausted: 0, usageMonthlyUsd: 0, limitUsd: 0, unlimited: 0 };
  for (const e of entries) {
    if (e.exhaustedAt !== null) totals.exhausted++;
    if (!e.known) {
      totals.unknown++;
      continue;
    }
    totals.known++;
    totals.usageMonthlyUsd += e.figures.usageMonthlyUsd;
    if (e.figures.limitUsd === null) totals.unlimited++;
    else totals.limitUsd += e.figures.limitUsd;
  }
  totals.usageMonthlyUsd = cents(totals.usageMonthlyUsd);
  totals.limitUsd = cents(totals.limitUsd);
  return totals;
}

/** A key counts as exhausted by its figures when nothing of its limit remains. */
export function exhaustedByFigures(f: CreditFigures): boolean {
  return f.limitRemainingUsd !== null && f.limitRemainingUsd <= 0;
}

const utcMonth = (ms: number) => {
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};

/**
 * An exhausted mark the key has outlived: OpenRouter reset the monthly limit since (the mark is
 * from an earlier UTC month and credit remains). Within the month a remaining balance does not
 * clear it: a request can cost more than what is left, which is exactly when keys get refused.
 */
export function markOutlived(exhaustedAt: number | null, f: CreditFigures, now: number): boolean {
  return exhaustedAt !== null && utcMonth(exhaustedAt) < utcMonth(now) && !exhaustedByFigures(f);
}

/** Every failure of a credit operation, and its HTTP answer (one table, as claim-outcomes.ts). */
export type CreditFailureCode = "not_found" | "no_key" | "openrouter_off" | "openrouter_unavailable" | "key_gone" | "bad_ceiling" | TopUpFailure;
type TopUpFailure = Exclude<TopUpDecision, { ok: true }>["code"];

const HTTP: Record<CreditFailureCode, 400 | 404 | 409 | 502 | 503> = {
  not_found: 404,
  no_key: 409,
  openrouter_off: 409,
  key_gone: 409,
  no_limit: 409,
  not_a_raise: 400,
  over_ceiling: 400,
  openrouter_unavailable: 502,
  bad_ceiling: 503,
};

export function creditFailureStatus(code: CreditFailureCode): 400 | 404 | 409 | 502 | 503 {
  return HTTP[code];
}
